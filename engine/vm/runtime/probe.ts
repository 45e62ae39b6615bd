import { findRunningQemu } from './pidfile';
import { withCommandQmp } from './qmp-session';
import { vmStateOfRunState } from '../states';
import type { VmRuntimePaths } from './paths';
import { readLastExit, readRuntimeRecord, type RuntimeRecord } from './records';
import { stateAfterExit, type ExitReason, type VmState } from '../states';

export interface VmStatus {
  state: VmState;
  /** Why the last run ended (stopped/crashed); undefined when unknown or running. */
  exitReason: ExitReason | undefined;
  pid: number | undefined;
  runtime: RuntimeRecord | undefined;
}

/**
 * The VM's state from the outside, without a supervisor: is our QEMU alive (pidfile checked against
 * /proc), and if so what QMP says; if not, how the last run ended (recorded by whoever saw it).
 */
export async function probeVmStatus(paths: VmRuntimePaths, vmName: string, options: { timeoutMs?: number } = {}): Promise<VmStatus> {
  const pid = await findRunningQemu(paths);
  if (pid === undefined) {
    const lastExit = await readLastExit(paths);
    const reason = lastExit?.reason;
    return { state: reason ? stateAfterExit(reason) : 'stopped', exitReason: reason, pid: undefined, runtime: undefined };
  }
  const runtime = await readRuntimeRecord(paths);
  let state: VmState;
  try {
    const status = await withCommandQmp(paths, vmName, (qmp) => qmp.queryStatus(), { timeoutMs: options.timeoutMs ?? 5000 });
    state = vmStateOfRunState(status.state);
  } catch {
    // QEMU is alive but not answering (busy, or another client holds the monitor): it runs.
    state = runtime ? 'running' : 'starting';
  }
  return { state, exitReason: undefined, pid, runtime: runtime?.pid === pid ? runtime : undefined };
}
