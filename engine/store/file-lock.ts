import { randomBytes } from 'node:crypto';
import { open, readFile, stat, unlink } from 'node:fs/promises';
import { hostname, uptime } from 'node:os';
import { diskFullError, EngineError } from '../api/errors';

/** What a lock file holds: who took it and when. */
export interface LockHolder {
  pid: number;
  hostname: string;
  /** ISO time the lock was taken. */
  time: string;
  /** Random per acquisition, so a holder only ever removes its own lock. */
  token: string;
}

export interface FileLockOptions {
  /** How long to wait for another holder before failing with `timeout`. Default 10 s. */
  timeoutMs?: number;
  /** Words for error messages, e.g. "the VM store". */
  what?: string;
}

const DEFAULT_TIMEOUT_MS = 10_000;
/** A lock file that stays empty or unreadable this long belongs to a writer killed between open and write. */
const UNREADABLE_STALE_MS = 2_000;
/** The break guard is held for microseconds; one this old was left by a killed breaker. */
const GUARD_STALE_MS = 5_000;

const tokensHeldHere = new Set<string>();
const inProcessQueues = new Map<string, Promise<void>>();

/**
 * Runs `fn` holding an exclusive lock on `path` across processes (O_EXCL lock file with
 * pid + hostname + time), waiting up to the timeout. A lock whose holder died on this host is
 * taken over. Within one process, callers queue in memory first so they never poll on
 * their own lock.
 */
export async function withFileLock<R>(path: string, fn: () => Promise<R>, options: FileLockOptions = {}): Promise<R> {
  const previous = inProcessQueues.get(path) ?? Promise.resolve();
  let releaseQueue!: () => void;
  const mine = new Promise<void>((resolve) => (releaseQueue = resolve));
  const tail = previous.then(() => mine);
  inProcessQueues.set(path, tail);
  await previous;
  try {
    const release = await acquireFileLock(path, options);
    try {
      return await fn();
    } finally {
      await release();
    }
  } finally {
    releaseQueue();
    if (inProcessQueues.get(path) === tail) inProcessQueues.delete(path);
  }
}

/** Takes the lock and returns its release function. Prefer `withFileLock`. */
export async function acquireFileLock(path: string, options: FileLockOptions = {}): Promise<() => Promise<void>> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const what = options.what ?? path;
  const deadline = Date.now() + timeoutMs;
  const holder: LockHolder = { pid: process.pid, hostname: hostname(), time: '', token: randomBytes(8).toString('hex') };
  let delay = 5;
  for (;;) {
    holder.time = new Date().toISOString();
    // Registered before the file exists: another waiter in this process that reads our fresh
    // lock must never judge it stale (a lock of this pid is stale only if no live token matches).
    tokensHeldHere.add(holder.token);
    if (await tryCreate(path, holder)) return () => release(path, holder.token);
    tokensHeldHere.delete(holder.token);
    const observed = await observe(path);
    if (observed && isStale(observed)) {
      await breakStaleLock(path, observed);
      continue;
    }
    if (Date.now() >= deadline) throw timeoutError(path, what, observed?.holder, timeoutMs);
    await sleep(Math.min(delay, Math.max(1, deadline - Date.now())) * (0.5 + Math.random()));
    delay = Math.min(delay * 2, 100);
  }
}

async function tryCreate(path: string, holder: LockHolder): Promise<boolean> {
  let handle;
  try {
    handle = await open(path, 'wx', 0o644);
  } catch (error) {
    if (isCode(error, 'EEXIST')) return false;
    throw diskFullError(error) ?? new EngineError('unavailable', `Could not create the lock file ${path}: ${(error as Error).message}`, { cause: error });
  }
  try {
    await handle.writeFile(JSON.stringify(holder) + '\n', 'utf8');
  } catch (error) {
    // An empty lock file would block everyone for seconds; it names no holder, so it is ours to remove.
    await handle.close();
    await unlink(path).catch(() => undefined);
    throw diskFullError(Object.assign(error as object, { path })) ?? error;
  }
  await handle.close();
  return true;
}

async function release(path: string, token: string): Promise<void> {
  tokensHeldHere.delete(token);
  // Someone may have (wrongly) judged our lock stale and replaced it; never remove theirs.
  const current = await observe(path);
  if (current?.holder?.token === token) await unlink(path).catch(() => undefined);
}

interface Observation {
  content: string;
  ino: number;
  mtimeMs: number;
  holder: LockHolder | undefined;
}

async function observe(path: string): Promise<Observation | undefined> {
  try {
    const [info, content] = await Promise.all([stat(path), readFile(path, 'utf8')]);
    return { content, ino: info.ino, mtimeMs: info.mtimeMs, holder: parseHolder(content) };
  } catch (error) {
    if (isCode(error, 'ENOENT')) return undefined;
    throw error;
  }
}

function parseHolder(content: string): LockHolder | undefined {
  try {
    const value = JSON.parse(content) as Partial<LockHolder>;
    if (typeof value.pid === 'number' && typeof value.hostname === 'string' && typeof value.time === 'string' && typeof value.token === 'string') {
      return value as LockHolder;
    }
  } catch {
    // fall through: unreadable
  }
  return undefined;
}

function isStale(observed: Observation): boolean {
  const holder = observed.holder;
  if (!holder) return Date.now() - observed.mtimeMs > UNREADABLE_STALE_MS;
  // Another host's pid means nothing here; such a lock only times out.
  if (holder.hostname !== hostname()) return false;
  if (holder.pid === process.pid) return !tokensHeldHere.has(holder.token);
  const bootTime = Date.now() - uptime() * 1000;
  if (Date.parse(holder.time) < bootTime) return true;
  return !isProcessAlive(holder.pid);
}

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return !isCode(error, 'ESRCH');
  }
}

/**
 * Removes a stale lock, but only the very file judged stale: under a short O_EXCL guard, so two
 * waiters that both saw the dead holder cannot remove a fresh lock the other one just took.
 */
async function breakStaleLock(path: string, observed: Observation): Promise<void> {
  const guardPath = `${path}.break`;
  let guard;
  try {
    guard = await open(guardPath, 'wx');
  } catch (error) {
    if (!isCode(error, 'EEXIST')) throw error;
    const info = await stat(guardPath).catch(() => undefined);
    if (info && Date.now() - info.mtimeMs > GUARD_STALE_MS) await unlink(guardPath).catch(() => undefined);
    await sleep(2);
    return;
  }
  try {
    const now = await observe(path);
    if (now && now.ino === observed.ino && now.mtimeMs === observed.mtimeMs && now.content === observed.content) {
      await unlink(path).catch(() => undefined);
    }
  } finally {
    await guard.close();
    await unlink(guardPath).catch(() => undefined);
  }
}

function timeoutError(path: string, what: string, holder: LockHolder | undefined, timeoutMs: number): EngineError {
  const by = holder ? `process ${holder.pid} on ${holder.hostname} (since ${holder.time})` : 'another process';
  return new EngineError('timeout', `Could not lock ${what} within ${Math.round(timeoutMs / 1000)} s: it is held by ${by}`, {
    hint: `Wait for the other Virtdesk process to finish and retry. If no Virtdesk process is running, delete ${path}.`,
    details: { lockFile: path, ...(holder ? { holder } : {}) },
  });
}

function isCode(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === code;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
