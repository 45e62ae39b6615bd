import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EngineError } from '../../../engine/api/errors';
import { acquireFileLock, withFileLock, type LockHolder } from '../../../engine/store/file-lock';

let dir: string;
let lockPath: string;
const children: { kill(): boolean }[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'virtdesk-lock-'));
  lockPath = join(dir, '.lock');
});
afterEach(async () => {
  for (const child of children.splice(0)) child.kill();
  await rm(dir, { recursive: true, force: true });
});

function deadPid(): number {
  const result = spawnSync(process.execPath, ['-e', '']);
  return result.pid!;
}

function liveProcess() {
  const child = spawn('sleep', ['60'], { stdio: 'ignore' });
  children.push(child);
  return child;
}

async function writeHolder(holder: Partial<LockHolder>): Promise<void> {
  const full: LockHolder = { pid: process.pid, hostname: hostname(), time: new Date().toISOString(), token: 'someone-else', ...holder };
  await writeFile(lockPath, JSON.stringify(full));
}

async function holderOnDisk(): Promise<LockHolder> {
  return JSON.parse(await readFile(lockPath, 'utf8')) as LockHolder;
}

describe('withFileLock', () => {
  it('writes pid, hostname and time into the lock file and removes it afterwards', async () => {
    const seen = await withFileLock(lockPath, holderOnDisk);
    expect(seen.pid).toBe(process.pid);
    expect(seen.hostname).toBe(hostname());
    expect(Math.abs(Date.parse(seen.time) - Date.now())).toBeLessThan(5000);
    await expect(readFile(lockPath)).rejects.toThrow(/ENOENT/);
  });

  it('runs one holder at a time and releases on errors', async () => {
    let inside = 0;
    let maxInside = 0;
    const tasks = Array.from({ length: 10 }, (_, i) =>
      withFileLock(lockPath, async () => {
        inside++;
        maxInside = Math.max(maxInside, inside);
        await new Promise((resolve) => setTimeout(resolve, 5));
        inside--;
        if (i === 3) throw new Error('task 3 failed');
        return i;
      }),
    );
    const results = await Promise.allSettled(tasks);
    expect(maxInside).toBe(1);
    expect(results.filter((result) => result.status === 'rejected')).toHaveLength(1);
    await expect(readFile(lockPath)).rejects.toThrow(/ENOENT/);
  });
});

describe('waiting and stale locks', () => {
  it('times out on a lock held by a live process, naming the holder and the file', async () => {
    const holder = liveProcess();
    await writeHolder({ pid: holder.pid! });
    const started = Date.now();
    const error = await acquireFileLock(lockPath, { timeoutMs: 300, what: 'the VM store' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(EngineError);
    expect((error as EngineError).code).toBe('timeout');
    expect((error as EngineError).message).toMatch(new RegExp(`Could not lock the VM store .*process ${holder.pid} on ${hostname()}`));
    expect((error as EngineError).hint).toContain(lockPath);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect((await holderOnDisk()).pid).toBe(holder.pid);
  });

  it('takes the lock over when its holder dies while we wait', async () => {
    const holder = liveProcess();
    await writeHolder({ pid: holder.pid! });
    setTimeout(() => holder.kill('SIGKILL'), 200);
    const release = await acquireFileLock(lockPath, { timeoutMs: 5000 });
    expect((await holderOnDisk()).pid).toBe(process.pid);
    await release();
  });

  it('takes over at once a lock whose pid is dead', async () => {
    await writeHolder({ pid: deadPid() });
    const started = Date.now();
    await withFileLock(lockPath, async () => expect((await holderOnDisk()).pid).toBe(process.pid), { timeoutMs: 1000 });
    expect(Date.now() - started).toBeLessThan(500);
  });

  it('takes over a lock written before the last boot even if its pid is alive now', async () => {
    await writeHolder({ pid: 1, time: new Date(0).toISOString() });
    await withFileLock(lockPath, async () => expect((await holderOnDisk()).pid).toBe(process.pid), { timeoutMs: 1000 });
  });

  it('takes over a lock this process leaked (its own pid, a token it does not hold)', async () => {
    await writeHolder({ pid: process.pid, token: 'leaked' });
    await withFileLock(lockPath, async () => expect((await holderOnDisk()).token).not.toBe('leaked'), { timeoutMs: 1000 });
  });

  it('never breaks a lock from another host, whose pid means nothing here', async () => {
    await writeHolder({ pid: deadPid(), hostname: `not-${hostname()}` });
    await expect(acquireFileLock(lockPath, { timeoutMs: 200 })).rejects.toMatchObject({ code: 'timeout' });
  });

  it('treats an empty lock file as in use until it is old, then takes it over', async () => {
    await writeFile(lockPath, '');
    await expect(acquireFileLock(lockPath, { timeoutMs: 200 })).rejects.toMatchObject({ code: 'timeout' });
    const old = new Date(Date.now() - 10_000);
    await utimes(lockPath, old, old);
    await withFileLock(lockPath, async () => expect((await holderOnDisk()).pid).toBe(process.pid), { timeoutMs: 1000 });
  });

  it('does not remove a lock someone else holds when releasing', async () => {
    const release = await acquireFileLock(lockPath);
    await writeHolder({ pid: 1, token: 'the-new-holder' });
    await release();
    expect((await holderOnDisk()).token).toBe('the-new-holder');
  });

  it('lets exactly one of many waiters break the same stale lock', async () => {
    await writeHolder({ pid: deadPid() });
    let inside = 0;
    let maxInside = 0;
    // Separate acquireFileLock calls skip the in-process queue, so they race on the file like processes do.
    await Promise.all(
      Array.from({ length: 6 }, async () => {
        const release = await acquireFileLock(lockPath, { timeoutMs: 5000 });
        inside++;
        maxInside = Math.max(maxInside, inside);
        await new Promise((resolve) => setTimeout(resolve, 10));
        inside--;
        await release();
      }),
    );
    expect(maxInside).toBe(1);
  });
});
