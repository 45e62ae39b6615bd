import { clearAfterExit, type VmRuntimePaths } from './paths';
import { findRunningQemu, waitForExit } from './pidfile';
import { withCommandQmp } from './qmp-session';
import { tryStartLock } from './start-lock';

/**
 * A start killed before the guest ran leaves QEMU waiting in `-S` (or for an incoming state): when
 * nobody holds the start lock any more, that QEMU is killed (the guest never ran, so nothing is
 * lost) and its files cleared. Returns what the user should be told, or undefined.
 */
export async function recoverInterruptedStart(paths: VmRuntimePaths, vmName: string): Promise<string | undefined> {
  const pid = await findRunningQemu(paths);
  if (pid === undefined) return undefined;
  const release = await tryStartLock(paths, vmName);
  if (!release) return undefined;
  try {
    if ((await findRunningQemu(paths)) !== pid) return undefined;
    const status = await withCommandQmp(paths, vmName, (qmp) => qmp.queryStatus(), { timeoutMs: 5000 }).catch(() => undefined);
    if (status?.state !== 'prelaunch' && status?.state !== 'inmigrate') return undefined;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
    await waitForExit(pid, 5000);
    await clearAfterExit(paths, pid);
    return `A start of VM "${vmName}" was interrupted before the guest ran; its waiting QEMU (pid ${pid}) was stopped. Start it again.`;
  } finally {
    await release();
  }
}
