import { optionList } from './qemu-option';
import { socketChardev } from './qmp';

/**
 * Command lines of the short-lived QEMUs that probe the host (engine/host): nothing runs, nothing
 * is attached but a QMP monitor. Like the VM's argv, they start from `-nodefaults -no-user-config -S`.
 */

const QUIET = ['-nodefaults', '-no-user-config', '-S', '-display', 'none'] as const;
const PROBE_MONITOR_ID = 'probe-qmp';

/** Asks QEMU which accelerators it was built with (one per line after a header). */
export function accelHelpArgv(): string[] {
  return ['-accel', 'help'];
}

/** A QEMU with no machine at all, for querying machines, CPU models, devices and commands. */
export function capabilityProbeArgv(): string[] {
  return ['-machine', 'none', '-accel', 'tcg', ...QUIET];
}

/** A tiny paused VM with `-cpu model`: it starts only when the host can run that model. */
export function cpuModelProbeArgv(accel: string, machine: string, model: string): string[] {
  return ['-accel', accel, '-machine', machine, '-cpu', model, '-m', '64', ...QUIET];
}

/** The private QMP monitor every probe QEMU gets, on a listening unix socket. */
export function probeMonitorArgv(socketPath: string): string[] {
  return ['-chardev', socketChardev(PROBE_MONITOR_ID, socketPath), '-mon', optionList([['chardev', PROBE_MONITOR_ID], ['mode', 'control']])];
}
