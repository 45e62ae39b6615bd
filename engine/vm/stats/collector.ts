import { readFileSync } from 'node:fs';
import type { QmpBlockStats, QmpClient } from '../../qemu/qmp';
import { monotonicMs, ProcessSampler, readPss } from './proc';

/** One sample of a running VM's resource use. */
export interface VmStatsSample {
  at: number;
  /** 100 = one host core; null on the first sample (a rate needs two). */
  cpuPercent: number | null;
  rssBytes: number;
  /** Refreshed every `pssEveryMs` (default 30 s), not every sample: reading it is costly. */
  pssBytes: number | null;
  /** What the balloon reports the guest has; null without a balloon. */
  guestMemoryBytes: number | null;
  /** Totals since QEMU started, summed over the guest's disks and CD-ROMs. */
  blockReadBytes: number;
  blockWriteBytes: number;
  /**
   * Totals over the VM's tap NICs (from the host side of each tap). Null when no NIC has a tap:
   * QEMU 7.2 keeps no byte counters for user-mode NAT (slirp) or any NIC model in QMP.
   */
  netRxBytes: number | null;
  netTxBytes: number | null;
}

/** Device-level totals: entries that belong to a guest device (not internal nodes). */
export function sumBlockStats(stats: readonly QmpBlockStats[]): { read: number; write: number } {
  let read = 0;
  let write = 0;
  for (const entry of stats) {
    if (entry.qdev === undefined && entry.device === undefined) continue;
    read += entry.stats.rd_bytes;
    write += entry.stats.wr_bytes;
  }
  return { read, write };
}

function readCounter(ifname: string, counter: 'rx_bytes' | 'tx_bytes'): number | undefined {
  try {
    return Number(readFileSync(`/sys/class/net/${ifname}/statistics/${counter}`, 'latin1').trim());
  } catch {
    return undefined;
  }
}

export interface StatsCollectorOptions {
  /** How often PSS is re-read (smaps_rollup costs about 1 ms of kernel time per read). */
  pssEveryMs?: number;
  /** Clock for the PSS schedule (tests). */
  now?: () => number;
  /** Reads PSS (tests count the reads). */
  readPss?: (pid: number) => number | undefined;
}

/**
 * Samples one VM: /proc for CPU and memory, QMP for disks, sysfs for taps. Asks QEMU only what
 * changes between samples: the balloon size is asked once and then follows QEMU's BALLOON_CHANGE
 * events (`balloonChanged()`), the tap names once. One QMP round trip per sample.
 */
export class VmStatsCollector {
  readonly #pid: number;
  readonly #sampler: ProcessSampler;
  readonly #qmp: QmpClient;
  readonly #pssEveryMs: number;
  readonly #now: () => number;
  readonly #readPss: (pid: number) => number | undefined;
  #taps: string[] | undefined;
  /** undefined: not asked yet; null: no balloon device. */
  #balloonBytes: number | null | undefined;
  #pss: { bytes: number | null; at: number } | undefined;

  constructor(pid: number, qmp: QmpClient, options: StatsCollectorOptions = {}) {
    this.#pid = pid;
    this.#sampler = new ProcessSampler(pid);
    this.#qmp = qmp;
    this.#pssEveryMs = options.pssEveryMs ?? 30_000;
    this.#now = options.now ?? monotonicMs;
    this.#readPss = options.readPss ?? readPss;
  }

  /** QEMU said the balloon changed (its BALLOON_CHANGE event). */
  balloonChanged(actualBytes: number): void {
    this.#balloonBytes = actualBytes;
  }

  /** Undefined once QEMU is gone. */
  async sample(): Promise<VmStatsSample | undefined> {
    const proc = this.#sampler.sample();
    if (!proc) return undefined;
    const [block, guestMemoryBytes] = await Promise.all([this.#block(), this.#balloon()]);
    const net = await this.#net();
    return {
      at: Date.now(),
      cpuPercent: proc.cpuPercent === undefined ? null : Math.round(proc.cpuPercent * 10) / 10,
      rssBytes: proc.rssBytes,
      pssBytes: this.#pssBytes(),
      guestMemoryBytes,
      blockReadBytes: block.read,
      blockWriteBytes: block.write,
      netRxBytes: net?.rx ?? null,
      netTxBytes: net?.tx ?? null,
    };
  }

  /** Releases the /proc descriptors. */
  close(): void {
    this.#sampler.close();
  }

  #pssBytes(): number | null {
    const now = this.#now();
    if (!this.#pss || now - this.#pss.at >= this.#pssEveryMs) this.#pss = { bytes: this.#readPss(this.#pid) ?? null, at: now };
    return this.#pss.bytes;
  }

  async #block(): Promise<{ read: number; write: number }> {
    try {
      return sumBlockStats(await this.#qmp.queryBlockStats());
    } catch {
      return { read: 0, write: 0 };
    }
  }

  async #balloon(): Promise<number | null> {
    if (this.#balloonBytes !== undefined) return this.#balloonBytes;
    try {
      const bytes = await this.#qmp.queryBalloonBytes();
      // An event may have landed while we asked; it is newer.
      this.#balloonBytes ??= bytes;
    } catch {
      // No balloon device: stop asking.
      this.#balloonBytes = null;
    }
    return this.#balloonBytes;
  }

  async #net(): Promise<{ rx: number; tx: number } | undefined> {
    if (this.#taps === undefined) {
      try {
        this.#taps = await this.#qmp.tapNames();
      } catch {
        this.#taps = [];
      }
    }
    if (this.#taps.length === 0) return undefined;
    let rx = 0;
    let tx = 0;
    for (const tap of this.#taps) {
      // The host side of a tap receives what the guest sends, and the other way round.
      rx += readCounter(tap, 'tx_bytes') ?? 0;
      tx += readCounter(tap, 'rx_bytes') ?? 0;
    }
    return { rx, tx };
  }
}
