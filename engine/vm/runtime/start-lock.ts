import { join } from 'node:path';
import { acquireFileLock } from '../../store/file-lock';
import { prepareRuntimeDir, type VmRuntimePaths } from './paths';

/** How long a start waits for another start of the same VM (a restore of a large state takes a while). */
const START_LOCK_WAIT_MS = 120_000;

/**
 * Held across processes for the whole of one start of a VM (CLI, app, serve): two starts at once
 * would both clear the runtime folder and spawn a QEMU, and the loser's clean-up would delete the
 * winner's pidfile and sockets. The second start waits, then sees the VM running.
 */
export function startLockFile(paths: Pick<VmRuntimePaths, 'runDir'>): string {
  return join(paths.runDir, 'start.lock');
}

/** Takes VM `vmName`'s start lock, waiting up to `waitMs`; returns its release. */
export async function acquireStartLock(paths: VmRuntimePaths, vmName: string, waitMs = START_LOCK_WAIT_MS): Promise<() => Promise<void>> {
  await prepareRuntimeDir(paths);
  return acquireFileLock(startLockFile(paths), { timeoutMs: waitMs, what: `VM "${vmName}" for starting (another start of it is under way)` });
}

/** The start lock when nobody holds it right now, else undefined (the CLI's speculative launch never waits). */
export async function tryStartLock(paths: VmRuntimePaths, vmName: string): Promise<(() => Promise<void>) | undefined> {
  return acquireStartLock(paths, vmName, 0).catch(() => undefined);
}
