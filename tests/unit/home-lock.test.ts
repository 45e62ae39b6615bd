import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EngineError } from '../../engine/api/errors';
import { claimHome, currentHomeHost, HOME_LOCK_FILE, type HomeHost } from '../../engine/home-lock';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'virtdesk-home-lock-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function refusal(promise: Promise<unknown>): Promise<EngineError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(EngineError);
  return error as EngineError;
}

/** A lock as another process would have left it. */
async function plantLock(host: Partial<HomeHost>): Promise<void> {
  const lock: HomeHost = { pid: 1, hostname: (await import('node:os')).hostname(), kind: 'serve', since: '2026-01-01T00:00:00.000Z', processStart: null, token: 'planted', ...host };
  await writeFile(join(dir, HOME_LOCK_FILE), JSON.stringify(lock));
}

describe('one host per home', () => {
  it('refuses a second claim, naming the holder, until the first is released', async () => {
    const first = await claimHome(dir, { kind: 'serve', address: 'http://127.0.0.1:8090' });
    const error = await refusal(claimHome(dir, { kind: 'electron' }));
    expect(error.code).toBe('conflict');
    expect(error.message).toBe(`${dir} is already hosted by virtdesk serve (process ${process.pid}, serving http://127.0.0.1:8090, since ${first.host.since}).`);
    expect(error.hint).toMatch(/stop it first/);
    expect((await currentHomeHost(dir))?.pid).toBe(process.pid);
    await first.release();
    expect(await currentHomeHost(dir)).toBeUndefined();
    const second = await claimHome(dir, { kind: 'electron' });
    await second.release();
  });

  it('meets the same lock through another spelling of the home (a symlink)', async () => {
    const home = join(dir, 'home');
    const first = await claimHome(home, { kind: 'serve' });
    await symlink(home, join(dir, 'alias'));
    expect((await refusal(claimHome(join(dir, 'alias'), { kind: 'serve' }))).code).toBe('conflict');
    await first.release();
  });

  it('takes over the lock of a process that is gone', async () => {
    const exited = spawnSync(process.execPath, ['-e', '0']).pid!;
    await plantLock({ pid: exited });
    const claim = await claimHome(dir, { kind: 'serve' });
    expect(JSON.parse(await readFile(join(dir, HOME_LOCK_FILE), 'utf8'))).toMatchObject({ pid: process.pid, kind: 'serve' });
    await claim.release();
  });

  it('takes over the lock of a killed process its parent has not reaped yet (a zombie)', async () => {
    // The inner sleep's parent becomes `sleep 300` (exec), which never reaps it: killed, it stays a zombie.
    const parent = spawn('bash', ['-c', 'sleep 300 & echo $!; exec sleep 300'], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      const pid = Number(await new Promise<string>((resolve) => parent.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString()))));
      const stat = await readFile(`/proc/${pid}/stat`, 'latin1');
      await plantLock({ pid, processStart: stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]! });
      expect((await refusal(claimHome(dir, { kind: 'serve' }))).code).toBe('conflict');
      process.kill(pid, 'SIGKILL');
      await expect.poll(async () => (await readFile(`/proc/${pid}/stat`, 'latin1')).split(') ')[1]?.[0]).toBe('Z');
      const claim = await claimHome(dir, { kind: 'serve' });
      await claim.release();
    } finally {
      parent.kill('SIGKILL');
    }
  });

  it('takes over a lock whose pid now belongs to another process (started at another time)', async () => {
    await plantLock({ pid: 1, processStart: '1' });
    const claim = await claimHome(dir, { kind: 'serve' });
    await claim.release();
  });

  it('respects a live holder with the recorded start time', async () => {
    const stat = await readFile('/proc/1/stat', 'latin1');
    const start = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!;
    await plantLock({ pid: 1, processStart: start, kind: 'electron' });
    expect((await refusal(claimHome(dir, { kind: 'serve' }))).message).toMatch(/already hosted by the Virtdesk app \(process 1, since /);
  });

  it('replaces a torn lock file', async () => {
    await writeFile(join(dir, HOME_LOCK_FILE), '{"pid": 12');
    const claim = await claimHome(dir, { kind: 'serve' });
    await claim.release();
  });

  it('lets one of many simultaneous claims win, and only one', async () => {
    const outcomes = await Promise.allSettled(Array.from({ length: 8 }, () => claimHome(dir, { kind: 'serve' })));
    const won = outcomes.filter((outcome) => outcome.status === 'fulfilled');
    expect(won).toHaveLength(1);
    await (won[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof claimHome>>>).value.release();
  });

  it('never removes a lock that another host took after it', async () => {
    const first = await claimHome(dir, { kind: 'serve' });
    await plantLock({ pid: 1, processStart: null, token: 'someone-else' });
    await first.release();
    expect(JSON.parse(await readFile(join(dir, HOME_LOCK_FILE), 'utf8'))).toMatchObject({ token: 'someone-else' });
  });
});
