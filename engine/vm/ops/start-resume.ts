import type { QmpClient } from '../../qemu/qmp';

/**
 * How a start continues a guest instead of booting it: QEMU is launched paused (with these argv
 * options), `prepare` loads the state into it, then the guest runs if `prepare` says so.
 */
export interface StartResume {
  /** What is resumed, for messages and the result. */
  what: 'saved-state' | 'snapshot';
  /** The exact machine type the state was taken on. */
  machineType?: string;
  /** `-incoming defer`: the state comes through QMP `migrate-incoming`. */
  incoming?: 'defer';
  /** Loads the state into the paused QEMU; QEMU's log from `logOffset` on says why a load failed. */
  prepare: (qmp: QmpClient, run: { qemuLog: string; logOffset: number }) => Promise<{ run: boolean }>;
  /** After the guest is back (e.g. removes the save file). */
  done?: () => Promise<void>;
}
