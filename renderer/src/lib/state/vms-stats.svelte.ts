import { SvelteMap } from 'svelte/reactivity';
import type { VmStats } from '../../../../engine/api/vm-api';

/** Samples kept per VM: two minutes at the default 2 s interval. */
export const STATS_HISTORY_LENGTH = 60;

/** Recent stats samples (`vms.stats` events) of every VM, bounded per VM; the graphs read from here. */
export class VmStatsHistory {
  readonly #samples = new SvelteMap<string, readonly VmStats[]>();
  readonly #limit: number;

  constructor(limit = STATS_HISTORY_LENGTH) {
    this.#limit = limit;
  }

  push(sample: VmStats): void {
    const previous = this.#samples.get(sample.id) ?? [];
    // A sample older than the last one is a replay (reconnect); drop it so rates stay sane.
    const last = previous[previous.length - 1];
    if (last && sample.at <= last.at) return;
    this.#samples.set(sample.id, [...previous.slice(-(this.#limit - 1)), sample]);
  }

  samples(id: string): readonly VmStats[] {
    return this.#samples.get(id) ?? [];
  }

  clear(id: string): void {
    this.#samples.delete(id);
  }
}

type Counter = 'blockReadBytes' | 'blockWriteBytes' | 'netRxBytes' | 'netTxBytes';

/**
 * Bytes per second between consecutive samples of a running total (a restart resets totals: 0).
 * Network totals are null when QEMU keeps none (user-mode NAT); those read as 0.
 */
export function ratesOf(samples: readonly VmStats[], counter: Counter): number[] {
  const rates: number[] = [];
  for (let i = 1; i < samples.length; i++) {
    const before = samples[i - 1]!;
    const after = samples[i]!;
    const seconds = (after.at - before.at) / 1000;
    const delta = (after[counter] ?? 0) - (before[counter] ?? 0);
    rates.push(seconds > 0 && delta > 0 ? delta / seconds : 0);
  }
  return rates;
}

/** CPU use of each sample; the first sample of a run has none (a rate needs two) and is left out. */
export function cpuSeries(samples: readonly VmStats[]): number[] {
  return samples.flatMap((sample) => (sample.cpuPercent === null ? [] : [sample.cpuPercent]));
}

/** Whether QEMU reports network byte counters for this VM (only for tap-backed NICs). */
export function hasNetCounters(samples: readonly VmStats[]): boolean {
  return samples.some((sample) => sample.netRxBytes !== null);
}
