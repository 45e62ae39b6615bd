import { randomBytes } from 'node:crypto';
import { link, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { EngineError } from '../../api/errors';

export async function pathExists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Writes an output file under a hidden temporary name in the same folder and publishes it
 * with link(2), which never replaces an existing file. A failed or cancelled write leaves nothing behind.
 */
export async function writeNewFile<T>(target: string, write: (tempPath: string) => Promise<T>): Promise<T> {
  if (await pathExists(target)) {
    throw new EngineError('already-exists', `"${target}" already exists; Virtdesk never overwrites an image.`, {
      hint: 'Choose another name, or delete the existing file first.',
    });
  }
  const temp = join(dirname(target), `.${basename(target)}.partial-${randomBytes(4).toString('hex')}`);
  try {
    const result = await write(temp);
    try {
      await link(temp, target);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new EngineError('already-exists', `"${target}" appeared while it was being written; the new copy was discarded.`);
      }
      throw error;
    }
    return result;
  } finally {
    await rm(temp, { force: true });
  }
}
