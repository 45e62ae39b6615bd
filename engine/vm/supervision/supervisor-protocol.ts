import type { VmDomainEvent } from '../../qemu/qmp';
import type { VmStatsSample } from '../stats/collector';
import type { ExitReason, VmState } from '../states';

/** Messages between the host process and one VM's supervisor, over the worker interface. */

export interface AttachRequest {
  type: 'attach';
  vmId: string;
  vmName: string;
  home: string;
  /** Only what locates the runtime folder; the supervisor inherits nothing else it needs. */
  runtimeEnv: { VIRTDESK_RUNTIME_DIR?: string; XDG_RUNTIME_DIR?: string };
  /** 0 turns stats off. */
  statsIntervalMs: number;
}

export type HostToSupervisor =
  | AttachRequest
  /** Stop watching and exit; QEMU keeps running. */
  | { type: 'detach' }
  | { type: 'stats-interval'; ms: number };

export type SupervisorToHost =
  | { type: 'attached'; pid: number; state: VmState }
  | { type: 'state'; state: VmState; at: number }
  | { type: 'event'; event: VmDomainEvent }
  | { type: 'stats'; stats: VmStatsSample }
  /** QEMU ended (or was not running at attach); the supervisor exits after sending this. */
  | { type: 'exited'; pid: number | null; state: VmState; reason: ExitReason | null }
  /** Something the host should log; `fatal` ones are followed by the supervisor exiting. */
  | { type: 'error'; message: string; fatal: boolean };
