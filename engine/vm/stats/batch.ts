import type { VmStats } from '../../api/vm-api';

/**
 * How long the host waits, after the first sample of a tick, for the other VMs' samples before
 * passing them on together. Supervisors sample at the same wall-clock moments (supervisor.ts), so
 * a tick's samples arrive within milliseconds of each other unless QEMU is slow to answer.
 */
export const STATS_BATCH_WINDOW_MS = 250;

/**
 * Gathers the stats samples of all VMs that arrive within a short window into one `vms.stats`
 * event: one message per tick to each subscribed window instead of one per running VM. Every
 * sample is passed on, in arrival order; nothing is dropped or merged.
 */
export class StatsBatcher {
  readonly #emit: (samples: VmStats[]) => void;
  readonly #windowMs: number;
  #pending: VmStats[] = [];
  #timer: NodeJS.Timeout | undefined;

  constructor(emit: (samples: VmStats[]) => void, windowMs = STATS_BATCH_WINDOW_MS) {
    this.#emit = emit;
    this.#windowMs = windowMs;
  }

  add(sample: VmStats): void {
    this.#pending.push(sample);
    if (this.#timer) return;
    this.#timer = setTimeout(() => this.flush(), this.#windowMs);
    // A sample waiting here never keeps the host process alive.
    this.#timer.unref();
  }

  /** Passes on what is waiting now. */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const samples = this.#pending;
    if (samples.length === 0) return;
    this.#pending = [];
    this.#emit(samples);
  }
}
