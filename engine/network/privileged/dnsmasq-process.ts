import { readdir, readFile } from 'node:fs/promises';
import type { NetworkStatePaths } from './state-paths';

async function commandLineOf(pid: number): Promise<string[] | undefined> {
  const text = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => undefined);
  return text === undefined ? undefined : text.split('\0').filter(Boolean);
}

/** A dnsmasq that we started for this network: the binary and our own --conf-file. */
function isOurDnsmasq(argv: readonly string[], paths: NetworkStatePaths): boolean {
  return (argv[0] ?? '').endsWith('dnsmasq') && argv.includes(`--conf-file=${paths.configFile}`);
}

/**
 * The pids of this network's dnsmasq: the pid file's, if it really is ours, plus any other
 * process running with our config (a pid file lost in a crash must not leave one behind).
 */
export async function findDnsmasqPids(paths: NetworkStatePaths): Promise<number[]> {
  const pids = new Set<number>();
  const fromFile = Number((await readFile(paths.pidFile, 'utf8').catch(() => '')).trim());
  if (Number.isInteger(fromFile) && fromFile > 0) {
    const argv = await commandLineOf(fromFile);
    if (argv && isOurDnsmasq(argv, paths)) pids.add(fromFile);
  }
  for (const entry of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^[0-9]+$/.test(entry)) continue;
    const argv = await commandLineOf(Number(entry));
    if (argv && isOurDnsmasq(argv, paths)) pids.add(Number(entry));
  }
  return [...pids];
}

/** Alive and not a zombie (a daemon whose parent does not reap it stays a zombie after exit). */
async function alive(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return stat !== '' && state !== 'Z';
}

/** SIGTERM, wait up to `graceMs`, then SIGKILL. */
export async function stopProcess(pid: number, graceMs = 5_000): Promise<void> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!(await alive(pid))) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return;
  }
  while (await alive(pid)) await new Promise((resolve) => setTimeout(resolve, 20));
}
