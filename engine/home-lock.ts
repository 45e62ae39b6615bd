import { randomBytes } from 'node:crypto';
import { mkdir, readFile, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { EngineError } from './api/errors';
import { withFileLock, writeFileAtomic } from './store';

/** Who hosts a home: written to `<home>/host.lock` by the one process whose engine supervises its VMs. */
export interface HomeHost {
  pid: number;
  hostname: string;
  /** `serve` or `electron`. */
  kind: string;
  /** Where that host can be reached, when it says (serve's origin, never its launch token). */
  address?: string;
  /** ISO time the home was claimed. */
  since: string;
  /** The process's start time in clock ticks since boot (/proc/<pid>/stat), so a reused pid is not mistaken for it. */
  processStart: string | null;
  /** Random per claim: a host removes only its own lock. */
  token: string;
}

export interface HomeClaim {
  host: HomeHost;
  release(): Promise<void>;
}

export const HOME_LOCK_FILE = 'host.lock';

const claimsHere = new Set<string>();

/**
 * Makes this process the one host of `home`, or fails with `conflict` naming the process that
 * already is. Two hosts on one home would both supervise every VM and fight over its monitor.
 * The lock lives inside the home, so every spelling of its path (symlinks) meets the same file.
 * A lock whose process is gone (killed, crashed, rebooted) is taken over.
 */
export async function claimHome(home: string, who: { kind: string; address?: string }): Promise<HomeClaim> {
  await mkdir(home, { recursive: true, mode: 0o700 });
  const path = join(home, HOME_LOCK_FILE);
  const host: HomeHost = {
    pid: process.pid,
    hostname: hostname(),
    kind: who.kind,
    ...(who.address === undefined ? {} : { address: who.address }),
    since: new Date().toISOString(),
    processStart: await processStartTicks(process.pid),
    token: randomBytes(8).toString('hex'),
  };
  // Under a short lock, so two starting hosts cannot both judge the old holder gone and both take over.
  await withFileLock(
    `${path}.claim`,
    async () => {
      const current = await readHomeHost(path);
      if (current && (await isHosting(current))) throw homeTaken(home, path, current);
      await writeFileAtomic(path, `${JSON.stringify(host)}\n`);
      claimsHere.add(host.token);
    },
    { what: `the host lock of ${home}`, timeoutMs: 10_000 },
  );
  return {
    host,
    async release() {
      claimsHere.delete(host.token);
      const current = await readHomeHost(path);
      if (current?.token === host.token) await unlink(path).catch(() => undefined);
    },
  };
}

/** The process that hosts `home` now, or undefined when none does. */
export async function currentHomeHost(home: string): Promise<HomeHost | undefined> {
  const current = await readHomeHost(join(home, HOME_LOCK_FILE));
  return current && (await isHosting(current)) ? current : undefined;
}

async function readHomeHost(path: string): Promise<HomeHost | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const value = JSON.parse(text) as Partial<HomeHost>;
    if (typeof value.pid === 'number' && typeof value.hostname === 'string' && typeof value.token === 'string') return value as HomeHost;
  } catch {
    // A torn or hand-edited lock names no live host; it is replaced.
  }
  return undefined;
}

async function isHosting(host: HomeHost): Promise<boolean> {
  // Another machine's pid means nothing here (a home on a shared file system): assume it runs.
  if (host.hostname !== hostname()) return true;
  if (host.pid === process.pid) return claimsHere.has(host.token);
  try {
    process.kill(host.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  const fields = await procStatFields(host.pid);
  // A killed host its parent has not reaped yet is a zombie: gone, whatever kill(0) says.
  if (!fields || fields[0] === 'Z' || fields[0] === 'X') return false;
  return host.processStart === null || host.processStart === fields[19];
}

/** Field 22 of /proc/<pid>/stat; null when the process is gone. */
async function processStartTicks(pid: number): Promise<string | null> {
  return (await procStatFields(pid))?.[19] ?? null;
}

/** Fields 3… of /proc/<pid>/stat (state first), or undefined when the process is gone. */
async function procStatFields(pid: number): Promise<string[] | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'latin1');
    // comm (field 2) may hold spaces and parentheses; fields 3… follow the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

function homeTaken(home: string, path: string, host: HomeHost): EngineError {
  const what = host.kind === 'serve' ? 'virtdesk serve' : host.kind === 'electron' ? 'the Virtdesk app' : `a Virtdesk ${host.kind}`;
  const where = host.hostname === hostname() ? `process ${host.pid}` : `process ${host.pid} on ${host.hostname}`;
  const reach = host.address ? `, serving ${host.address}` : '';
  return new EngineError('conflict', `${home} is already hosted by ${what} (${where}${reach}, since ${host.since}).`, {
    hint:
      'Use that one, or stop it first: two hosts on one home would both supervise every VM.' +
      (host.hostname === hostname() ? '' : ` If it no longer runs on ${host.hostname}, delete ${path}.`),
    details: { lockFile: path, host: { pid: host.pid, hostname: host.hostname, kind: host.kind, since: host.since, ...(host.address ? { address: host.address } : {}) } },
  });
}
