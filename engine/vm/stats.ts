import { readFile } from 'node:fs/promises';
import type { QmpBlockStats, QmpClient } from '../qemu/qmp';
import { ProcessSampler } from './proc-stats';

/** One sample of a running VM's resource use. */
export interface VmStatsSample {
  at: number;
  /** 100 = one host core; null on the first sample (a rate needs two). */
  cpuPercent: number | null;
  rssBytes: number;
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

/** Tap interface names from HMP `info network` (`... type=tap,ifname=vdt1234,...`). */
export function tapNamesFromInfoNetwork(text: string): string[] {
  return [...text.matchAll(/type=tap,ifname=([^,\s]+)/g)].map((match) => match[1]!).filter((name, i, all) => all.indexOf(name) === i);
}

async function readCounter(ifname: string, counter: 'rx_bytes' | 'tx_bytes'): Promise<number | undefined> {
  try {
    return Number((await readFile(`/sys/class/net/${ifname}/statistics/${counter}`, 'utf8')).trim());
  } catch {
    return undefined;
  }
}

/** Samples one VM: /proc for CPU and memory, QMP for disks and the balloon, sysfs for taps. */
export class VmStatsCollector {
  readonly #sampler: ProcessSampler;
  readonly #qmp: QmpClient;
  #taps: string[] | undefined;
  #hasBalloon = true;

  constructor(pid: number, qmp: QmpClient) {
    this.#sampler = new ProcessSampler(pid);
    this.#qmp = qmp;
  }

  /** Undefined once QEMU is gone. */
  async sample(): Promise<VmStatsSample | undefined> {
    const proc = await this.#sampler.sample();
    if (!proc) return undefined;
    const [block, guestMemoryBytes, net] = await Promise.all([this.#block(), this.#balloon(), this.#net()]);
    return {
      at: Date.now(),
      cpuPercent: proc.cpuPercent === undefined ? null : Math.round(proc.cpuPercent * 10) / 10,
      rssBytes: proc.rssBytes,
      pssBytes: proc.pssBytes ?? null,
      guestMemoryBytes,
      blockReadBytes: block.read,
      blockWriteBytes: block.write,
      netRxBytes: net?.rx ?? null,
      netTxBytes: net?.tx ?? null,
    };
  }

  async #block(): Promise<{ read: number; write: number }> {
    try {
      return sumBlockStats(await this.#qmp.queryBlockStats());
    } catch {
      return { read: 0, write: 0 };
    }
  }

  async #balloon(): Promise<number | null> {
    if (!this.#hasBalloon) return null;
    try {
      return await this.#qmp.queryBalloonBytes();
    } catch {
      // No balloon device (or no driver yet): stop asking.
      this.#hasBalloon = false;
      return null;
    }
  }

  async #net(): Promise<{ rx: number; tx: number } | undefined> {
    if (this.#taps === undefined) {
      try {
        this.#taps = tapNamesFromInfoNetwork(await this.#qmp.humanMonitorCommand('info network'));
      } catch {
        this.#taps = [];
      }
    }
    if (this.#taps.length === 0) return undefined;
    let rx = 0;
    let tx = 0;
    for (const tap of this.#taps) {
      // The host side of a tap receives what the guest sends, and the other way round.
      rx += (await readCounter(tap, 'tx_bytes')) ?? 0;
      tx += (await readCounter(tap, 'rx_bytes')) ?? 0;
    }
    return { rx, tx };
  }
}
