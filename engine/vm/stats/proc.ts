import { closeSync, openSync, readFileSync, readSync } from 'node:fs';

// Everything here reads /proc synchronously: the kernel builds these files in memory (no disk
// I/O), and a sync read costs one syscall where an async one is several libuv thread-pool round
// trips, each waking the event loop. The supervisor samples every 2 s for as long as a VM runs.

/** `AT_CLKTCK` and `AT_PAGESZ` in the ELF auxiliary vector (what sysconf(3) reads too). */
const AT_PAGESZ = 6;
const AT_CLKTCK = 17;

/** One value of the auxiliary vector (64-bit entries: type, value), or undefined. */
export function auxvValue(auxv: Uint8Array, type: number): number | undefined {
  const view = new DataView(auxv.buffer, auxv.byteOffset, auxv.byteLength);
  for (let at = 0; at + 16 <= auxv.byteLength; at += 16) {
    const key = Number(view.getBigUint64(at, true));
    if (key === 0) break;
    if (key === type) return Number(view.getBigUint64(at + 8, true));
  }
  return undefined;
}

let system: { clockTicks: number; pageSize: number } | undefined;
function systemValues(): { clockTicks: number; pageSize: number } {
  if (!system) {
    let auxv: Uint8Array | undefined;
    try {
      if (process.arch === 'x64' || process.arch === 'arm64') auxv = readFileSync('/proc/self/auxv');
    } catch {
      auxv = undefined;
    }
    const value = (type: number, fallback: number) => {
      const found = auxv ? auxvValue(auxv, type) : undefined;
      return found !== undefined && found > 0 ? found : fallback;
    };
    system = { clockTicks: value(AT_CLKTCK, 100), pageSize: value(AT_PAGESZ, 4096) };
  }
  return system;
}

/** `sysconf(_SC_CLK_TCK)`: the unit of utime/stime in /proc/<pid>/stat (100 on Linux almost always). */
export function clockTicksPerSecond(): number {
  return systemValues().clockTicks;
}

/** The page size: the unit of /proc/<pid>/statm. */
export function pageSize(): number {
  return systemValues().pageSize;
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
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const field = (n: number): number => {
    const value = Number(rest[n - 3]);
    if (!Number.isFinite(value)) throw new Error(`malformed /proc stat: field ${n} missing`);
    return value;
  };
  return { cpuTicks: field(14) + field(15), startTicks: field(22) };
}

/** Resident pages from /proc/<pid>/statm (`size resident shared ...`), the same count as VmRSS. */
export function parseStatmResidentPages(text: string): number {
  const resident = Number(text.split(' ', 2)[1]);
  if (!Number.isFinite(resident)) throw new Error('malformed /proc statm');
  return resident;
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'latin1');
  } catch {
    return undefined;
  }
}

export async function readCpuTimes(pid: number): Promise<ProcCpuTimes | undefined> {
  const text = readText(`/proc/${pid}/stat`);
  return text === undefined ? undefined : parseProcStat(text);
}

/** Reads one `Key:   123 kB` line of /proc/<pid>/status or smaps_rollup, in bytes. */
export function parseKbField(text: string, key: string): number | undefined {
  const match = new RegExp(`^${key}:\\s+(\\d+)\\s+kB`, 'm').exec(text);
  return match ? Number(match[1]) * 1024 : undefined;
}

/**
 * Proportional set size from /proc/<pid>/smaps_rollup; undefined when unreadable. Costly: the
 * kernel walks every page table of the process (about 1 ms of CPU for a 192 MiB TCG guest).
 */
export function readPss(pid: number): number | undefined {
  const text = readText(`/proc/${pid}/smaps_rollup`);
  return text === undefined ? undefined : parseKbField(text, 'Pss');
}

export interface ProcMemory {
  rssBytes: number;
  /** Proportional set size; undefined when smaps_rollup is unreadable (older kernels, permissions). */
  pssBytes: number | undefined;
}

export async function readMemory(pid: number): Promise<ProcMemory | undefined> {
  const status = readText(`/proc/${pid}/status`);
  const rssBytes = status === undefined ? undefined : parseKbField(status, 'VmRSS');
  if (rssBytes === undefined) return undefined;
  return { rssBytes, pssBytes: readPss(pid) };
}

/**
 * A /proc file kept open and re-read from offset 0 (the kernel regenerates it on each read at 0):
 * one pread per sample instead of open + read + close, into a buffer reused across samples.
 * The descriptor stays bound to the process it was opened for: once that process is gone, reads
 * fail (ESRCH) even if its pid is reused.
 */
class ProcFile {
  #fd: number | undefined;
  #buffer = Buffer.allocUnsafe(1024);

  constructor(path: string) {
    try {
      this.#fd = openSync(path, 'r');
    } catch {
      this.#fd = undefined;
    }
  }

  /** The whole file, or undefined once it cannot be read (the process ended). */
  read(): string | undefined {
    if (this.#fd === undefined) return undefined;
    try {
      for (;;) {
        const length = readSync(this.#fd, this.#buffer, 0, this.#buffer.length, 0);
        if (length < this.#buffer.length) return this.#buffer.toString('latin1', 0, length);
        this.#buffer = Buffer.allocUnsafe(this.#buffer.length * 2);
      }
    } catch {
      this.close();
      return undefined;
    }
  }

  close(): void {
    if (this.#fd === undefined) return;
    try {
      closeSync(this.#fd);
    } catch {
      // Already closed.
    }
    this.#fd = undefined;
  }
}

export interface ProcessStats {
  /** CPU use since the previous sample, 100 = one host core busy. Undefined on the first sample. */
  cpuPercent: number | undefined;
  rssBytes: number;
}

/** Monotonic milliseconds without touching `performance` (whose first use loads perf_hooks). */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint() / 1000n) / 1000;
}

/**
 * Samples one process's CPU and resident memory from /proc/<pid>/stat and /proc/<pid>/statm,
 * both kept open. CPU % is the utime+stime delta over the wall-clock delta. `close()` releases
 * the descriptors.
 */
export class ProcessSampler {
  readonly pid: number;
  readonly #stat: ProcFile;
  readonly #statm: ProcFile;
  #last: { cpuTicks: number; startTicks: number; at: number } | undefined;

  constructor(pid: number) {
    this.pid = pid;
    this.#stat = new ProcFile(`/proc/${pid}/stat`);
    this.#statm = new ProcFile(`/proc/${pid}/statm`);
  }

  /** Undefined once the process is gone. */
  sample(now: () => number = monotonicMs): ProcessStats | undefined {
    const stat = this.#stat.read();
    const statm = stat === undefined ? undefined : this.#statm.read();
    const at = now();
    if (stat === undefined || statm === undefined) return undefined;
    let times: ProcCpuTimes;
    let residentPages: number;
    try {
      times = parseProcStat(stat);
      residentPages = parseStatmResidentPages(statm);
    } catch {
      return undefined;
    }
    let cpuPercent: number | undefined;
    const last = this.#last;
    if (last && last.startTicks === times.startTicks && at > last.at) {
      const cpuSeconds = (times.cpuTicks - last.cpuTicks) / clockTicksPerSecond();
      cpuPercent = Math.max(0, (cpuSeconds / ((at - last.at) / 1000)) * 100);
    }
    this.#last = { cpuTicks: times.cpuTicks, startTicks: times.startTicks, at };
    return { cpuPercent, rssBytes: residentPages * pageSize() };
  }

  close(): void {
    this.#stat.close();
    this.#statm.close();
  }
}
