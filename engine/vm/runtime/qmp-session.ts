import { EngineError } from '../../api/errors';
import { QmpClient } from '../../qemu/qmp';
import type { VmRuntimePaths } from './paths';

export interface CommandSessionOptions {
  /**
   * Budget for connecting and the handshake. QEMU serves one client per monitor, so another
   * one-shot client (a second CLI call) makes us wait in the socket's backlog until it is done.
   */
  timeoutMs?: number;
  commandTimeoutMs?: number;
}

/** Opens the VM's one-shot QMP monitor (never the supervisor's), runs `fn`, closes. */
export async function withCommandQmp<T>(paths: VmRuntimePaths, vmName: string, fn: (qmp: QmpClient) => Promise<T>, options: CommandSessionOptions = {}): Promise<T> {
  let qmp: QmpClient;
  try {
    qmp = await QmpClient.connect(paths.qmpCommandSocket, {
      timeoutMs: options.timeoutMs ?? 15_000,
      commandTimeoutMs: options.commandTimeoutMs ?? 30_000,
    });
  } catch (error) {
    if (error instanceof EngineError && error.code === 'timeout') {
      throw new EngineError('timeout', `QEMU of VM "${vmName}" did not answer on its control socket in time.`, {
        hint: 'Another command may be holding it, or QEMU is hung; try again, or force it off with `virtdesk vm stop --force`.',
        cause: error,
      });
    }
    throw new EngineError('unavailable', `Cannot reach QEMU of VM "${vmName}": ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  try {
    return await fn(qmp);
  } finally {
    await qmp.close().catch(() => undefined);
  }
}
