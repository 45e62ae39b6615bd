import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../store/atomic-write';
import { withFileLock } from '../../store/file-lock';
import type { VmRuntimePaths } from './paths';

/** `<runDir>/pending-restart.json`: fields edited while the VM ran that take effect at its next start. */
export function pendingRestartFile(paths: Pick<VmRuntimePaths, 'runDir'>): string {
  return join(paths.runDir, 'pending-restart.json');
}

/** The fields waiting for a restart; none when the file is missing or unreadable. */
export async function readPendingRestart(paths: Pick<VmRuntimePaths, 'runDir'>): Promise<string[]> {
  try {
    return JSON.parse(await readFile(pendingRestartFile(paths), 'utf8')) as string[];
  } catch {
    return [];
  }
}

/**
 * Adds `fields` to the list: read-modify-write on the fresh file under its own lock, written
 * atomically, so two edits at once (app and CLI) both keep their fields.
 */
export async function addPendingRestart(paths: Pick<VmRuntimePaths, 'runDir'>, fields: readonly string[]): Promise<void> {
  const file = pendingRestartFile(paths);
  await withFileLock(`${file}.lock`, async () => {
    const previous = await readPendingRestart(paths);
    await writeFileAtomic(file, JSON.stringify([...new Set([...previous, ...fields])].sort()));
  });
}
