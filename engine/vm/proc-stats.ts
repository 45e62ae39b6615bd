import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';

let clockTicks: number | undefined;

/** `sysconf(_SC_CLK_TCK)`: the unit of utime/stime in /proc/<pid>/stat (100 on Linux almost always). */
export function clockTicksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      const value = Number.parseInt(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim(), 10);
      clockTicks = Number.isFinite(value) && value > 0 ? value : 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

export interface ProcCpuTimes {
  /** utime + stime, in clock ticks. */
  cpuTicks: number;
  /** Process start, in clock ticks after boot (tells a reused pid apart). */
  startTicks: number;
}

/** Parses /proc/<pid>/stat text. Exported for tests. */
export function parseProcStat(text: string): ProcCpuTimes {
  // Fields after the last ')' start at field 3 (state); utime is field 14, stime 15, starttime 22.
  const rest = text.slice(text.lastIndexOf(')') + 2).trim().split(/\s+/);
  const field = (n: number): number => {
    const value = Number(rest[n - 3]);
    if (!Number.isFinite(value)) throw new Error(`malformed /proc stat: field ${n} missing`);
    return value;
  };
  return { cpuTicks: field(14) + field(15), startTicks: field(22) };
}

export async function readCpuTimes(pid: number): Promise<ProcCpuTimes | undefined> {
  try {
    return parseProcStat(await readFile(`/proc/${pid}/stat`, 'latin1'));
  } catch {
    return undefined;
  }
}

/** Reads one `Key:   123 kB` line of /proc/<pid>/status or smaps_rollup, in bytes. */
export function parseKbField(text: string, key: string): number | undefined {
  const match = new RegExp(`^${key}:\\s+(\\d+)\\s+kB`, 'm').exec(text);
  return match ? Number(match[1]) * 1024 : undefined;
}

export interface ProcMemory {
  rssBytes: number;
  /** Proportional set size; undefined when smaps_rollup is unreadable (older kernels, permissions). */
  pssBytes: number | undefined;
}

export async function readMemory(pid: number): Promise<ProcMemory | undefined> {
  let status: string;
  try {
    status = await readFile(`/proc/${pid}/status`, 'latin1');
  } catch {
    return undefined;
  }
  const rssBytes = parseKbField(status, 'VmRSS');
  if (rssBytes === undefined) return undefined;
  let pssBytes: number | undefined;
  try {
    pssBytes = parseKbField(await readFile(`/proc/${pid}/smaps_rollup`, 'latin1'), 'Pss');
  } catch {
    pssBytes = undefined;
  }
  return { rssBytes, pssBytes };
}

export interface ProcessStats {
  /** CPU use since the previous sample, 100 = one host core busy. Undefined on the first sample. */
  cpuPercent: number | undefined;
  rssBytes: number;
  pssBytes: number | undefined;
}

/** Samples one process; CPU % is the utime+stime delta over the wall-clock delta. */
export class ProcessSampler {
  readonly pid: number;
  #last: { cpuTicks: number; startTicks: number; at: number } | undefined;

  constructor(pid: number) {
    this.pid = pid;
  }

  /** Undefined once the process is gone. */
  async sample(now: () => number = () => performance.now()): Promise<ProcessStats | undefined> {
    const [times, memory] = await Promise.all([readCpuTimes(this.pid), readMemory(this.pid)]);
    const at = now();
    if (!times || !memory) return undefined;
    let cpuPercent: number | undefined;
    const last = this.#last;
    if (last && last.startTicks === times.startTicks && at > last.at) {
      const cpuSeconds = (times.cpuTicks - last.cpuTicks) / clockTicksPerSecond();
      cpuPercent = Math.max(0, (cpuSeconds / ((at - last.at) / 1000)) * 100);
    }
    this.#last = { cpuTicks: times.cpuTicks, startTicks: times.startTicks, at };
    return { cpuPercent, rssBytes: memory.rssBytes, pssBytes: memory.pssBytes };
  }
}
