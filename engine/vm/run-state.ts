import type { QmpRunState } from '../qemu/qmp';
import type { VmState } from './states';

/** QEMU's run state as a Virtdesk state. */
export function vmStateOfRunState(state: QmpRunState): VmState {
  switch (state) {
    case 'running':
    case 'colo':
      return 'running';
    case 'prelaunch':
    case 'inmigrate':
      return 'starting';
    case 'shutdown':
      return 'shutting-down';
    default:
      // paused, suspended, debug, io-error, watchdog, guest-panicked, internal-error, save/restore:
      // the vCPUs are stopped and `cont` (or a reset) is what moves the VM on.
      return 'paused';
  }
}
