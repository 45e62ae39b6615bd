import { readdir, readFile } from 'node:fs/promises';
import { clockTicksPerSecond, readCpuTimes, readMemory } from '../../engine/vm/stats/proc';

export interface ProcessInfo {
  pid: number;
  ppid: number;
  /** The command line's arguments (empty for kernel threads). */
  args: string[];
}

/** Parses the parent pid out of /proc/<pid>/stat text (the name in parentheses may hold spaces). */
export function parseParentPid(statText: string): number {
  const rest = statText.slice(statText.lastIndexOf(')') + 2).split(' ');
  return Number(rest[1]);
}

/** Every process whose /proc entry could be read now. */
export async function listProcesses(): Promise<ProcessInfo[]> {
  const pids = (await readdir('/proc')).filter((name) => /^\d+$/.test(name)).map(Number);
  const infos = await Promise.all(
    pids.map(async (pid) => {
      try {
        const [stat, cmdline] = await Promise.all([readFile(`/proc/${pid}/stat`, 'latin1'), readFile(`/proc/${pid}/cmdline`, 'latin1')]);
        return { pid, ppid: parseParentPid(stat), args: cmdline.split('\0').filter(Boolean) };
      } catch {
        return undefined;
      }
    }),
  );
  return infos.filter((info): info is ProcessInfo => info !== undefined);
}

/** Children of `pid` that run a module whose path ends in `moduleSuffix` (e.g. the supervisors of a host). */
export async function childProcessesRunning(pid: number, moduleSuffix: string): Promise<number[]> {
  return (await listProcesses()).filter((info) => info.ppid === pid && info.args.some((arg) => arg.endsWith(moduleSuffix))).map((info) => info.pid);
}

/** Every process below `pid` (children, their children, …) that `accept` takes. */
export async function descendantsOf(pid: number, accept: (info: ProcessInfo) => boolean = () => true): Promise<number[]> {
  const all = await listProcesses();
  const found: number[] = [];
  const below = new Set([pid]);
  // /proc lists parents before children almost always; repeat until nothing new turns up.
  for (let added = true; added; ) {
    added = false;
    for (const info of all) {
      if (below.has(info.ppid) && !below.has(info.pid)) {
        below.add(info.pid);
        added = true;
        if (accept(info)) found.push(info.pid);
      }
    }
  }
  return found;
}

/** CPU seconds (user + system) a set of processes used so far; gone processes count 0. */
export async function cpuSeconds(pids: readonly number[]): Promise<number> {
  const times = await Promise.all(pids.map((pid) => readCpuTimes(pid)));
  return times.reduce((sum, time) => sum + (time?.cpuTicks ?? 0), 0) / clockTicksPerSecond();
}

export interface MemoryReading {
  rssMiB: number;
  /** Undefined where smaps_rollup cannot be read. */
  pssMiB: number | undefined;
}

const MIB = 1024 * 1024;

export async function memoryOf(pid: number): Promise<MemoryReading> {
  const memory = await readMemory(pid);
  if (!memory) throw new Error(`process ${pid} is gone`);
  return { rssMiB: memory.rssBytes / MIB, pssMiB: memory.pssBytes === undefined ? undefined : memory.pssBytes / MIB };
}

export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
