import { statSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';

/** The pid QEMU wrote with `-pidfile`, or undefined when the file is missing or garbage. */
export async function readPidFile(path: string): Promise<number | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
  const pid = Number.parseInt(text.trim(), 10);
  return Number.isSafeInteger(pid) && pid > 1 ? pid : undefined;
}

/** The process's argv from /proc, or undefined when it is gone. */
export async function readCmdline(pid: number): Promise<string[] | undefined> {
  try {
    const raw = await readFile(`/proc/${pid}/cmdline`, 'latin1');
    if (raw.length === 0) return [];
    return raw.replace(/\0$/, '').split('\0');
  } catch {
    return undefined;
  }
}

/** Process state letter from /proc/<pid>/stat (R, S, Z, ...), or undefined when gone. */
export async function readProcessState(pid: number): Promise<string | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'latin1');
    // comm may hold spaces and parentheses; the state follows the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) || undefined;
  } catch {
    return undefined;
  }
}

/** True while `pid` exists and is not a zombie waiting to be reaped. */
export async function isAlive(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const state = await readProcessState(pid);
  return state !== undefined && state !== 'Z' && state !== 'X';
}

/**
 * True when `pid` is a live QEMU started for this runtime folder. A pidfile outlives its process,
 * and the pid may since belong to something else, so the command line must name our folder.
 */
export async function isOurQemu(pid: number, runDir: string): Promise<boolean> {
  const cmdline = await readCmdline(pid);
  if (!cmdline || cmdline.length === 0) return false;
  const needle = `${runDir}/`;
  if (!cmdline.some((arg) => arg.includes(needle))) return false;
  return isAlive(pid);
}

/** The pid of this VM's running QEMU (pidfile checked against /proc), or undefined. */
export async function findRunningQemu(paths: { pidFile: string; runDir: string }): Promise<number | undefined> {
  const pid = await readPidFile(paths.pidFile);
  if (pid === undefined) return undefined;
  return (await isOurQemu(pid, paths.runDir)) ? pid : undefined;
}

/** Every live process whose argv contains `needle` (leak checks, orphan recovery). */
export async function findProcessesWithArg(needle: string): Promise<number[]> {
  const entries = await readdir('/proc');
  const pids: number[] = [];
  await Promise.all(
    entries.map(async (entry) => {
      if (!/^\d+$/.test(entry)) return;
      const pid = Number(entry);
      if (pid === process.pid) return;
      const cmdline = await readCmdline(pid);
      if (cmdline?.some((arg) => arg.includes(needle)) && (await isAlive(pid))) pids.push(pid);
    }),
  );
  return pids.sort((a, b) => a - b);
}

/** Resolves once `pid` is gone (or a zombie), false on timeout. */
export async function waitForExit(pid: number, timeoutMs: number, pollMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!(await isAlive(pid))) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

/**
 * Whether a pidfile is there, without a failed open: a stopped VM's runtime folder keeps no pidfile,
 * and with hundreds of VMs polled every second a thrown ENOENT each costs more than the stat.
 */
export function hasPidFile(paths: { pidFile: string }): boolean {
  try {
    return statSync(paths.pidFile, { throwIfNoEntry: false }) !== undefined;
  } catch {
    return true;
  }
}
