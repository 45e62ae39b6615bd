import { randomBytes } from 'node:crypto';
import { open, readdir, rename, unlink } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** Temp files are `.<name>.<pid>.<random>.tmp` next to the target: never mistaken for a document. */
export function isTempFileOf(entry: string, fileName: string): boolean {
  return entry.startsWith(`.${fileName}.`) && entry.endsWith('.tmp');
}

/** fsyncs a directory so that a rename or unlink inside it survives a power cut. */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Replaces `path` with `data` so that a reader (or a crash at any moment) sees either the old
 * file or the new one, never a mix: temp file in the same folder, write, fsync, rename, fsync folder.
 * Returns the written file's stats (taken before the rename, which keeps inode, size and mtime), so
 * a caller knows the signature of its own version without a second stat that could race a hand edit.
 */
export async function writeFileAtomic(path: string, data: string, mode = 0o600): Promise<Stats> {
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  let renamed = false;
  try {
    const handle = await open(temp, 'wx', mode);
    let written: Stats;
    try {
      await handle.writeFile(data, 'utf8');
      await handle.sync();
      written = await handle.stat();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
    renamed = true;
    await syncDirectory(dir);
    return written;
  } finally {
    if (!renamed) await unlink(temp).catch(() => undefined);
  }
}

/**
 * Removes temp files a killed writer left behind. Only call it while holding the store lock:
 * then no other writer can be between its open and its rename.
 */
export async function removeStaleTempFiles(dir: string, fileName: string): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch {
    return;
  }
  await Promise.all(entries.filter((entry) => isTempFileOf(entry, fileName)).map((entry) => unlink(join(dir, entry)).catch(() => undefined)));
}
