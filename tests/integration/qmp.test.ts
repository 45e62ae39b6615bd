import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { QmpClient } from '../../engine/qemu/qmp/client';
import { TYPED_QMP_COMMANDS } from '../../engine/qemu/qmp/command-names';
import { QmpClosedError, QmpCommandError } from '../../engine/qemu/qmp/errors';
import type { VmDomainEvent } from '../../engine/qemu/qmp/events';

interface Running {
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr: () => string;
  client: QmpClient;
  dir: string;
}

const running: Running[] = [];

afterEach(async () => {
  for (const r of running.splice(0)) {
    await r.client.close().catch(() => {});
    if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
    await r.exited;
    await rm(r.dir, { recursive: true, force: true });
  }
});

async function launch(extraArgs: string[] = []): Promise<Running> {
  const dir = await mkdtemp(join(tmpdir(), 'vd-qmp-it-'));
  const socket = join(dir, 'qmp.sock');
  const child = spawn(
    process.env.VIRTDESK_QEMU ?? 'qemu-system-x86_64',
    [
      '-accel', 'tcg', '-machine', 'q35', '-nodefaults', '-no-user-config', '-S', '-display', 'none',
      '-chardev', `socket,id=qmp,path=${socket},server=on,wait=off`, '-mon', 'chardev=qmp,mode=control',
      ...extraArgs,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const controller = new AbortController();
  void exited.then(() => controller.abort(new Error(`QEMU exited early: ${stderr}`)));
  try {
    const client = await QmpClient.connect(socket, { timeoutMs: 30_000, waitForSocket: true, signal: controller.signal });
    const r = { child, exited, stderr: () => stderr, client, dir };
    running.push(r);
    return r;
  } catch (error) {
    child.kill('SIGKILL');
    await exited;
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

function nextEvent(client: QmpClient, type: VmDomainEvent['type'], timeoutMs = 10_000): Promise<VmDomainEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no ${type} event within ${timeoutMs} ms`));
    }, timeoutMs);
    const off = client.onEvent((event) => {
      if (event.type !== type) return;
      clearTimeout(timer);
      off();
      resolve(event);
    });
  });
}

describe('QMP against real QEMU', () => {
  it('knows every command of the typed table (names from query-commands)', async () => {
    const { client } = await launch();
    const available = new Set(await client.queryCommands());
    expect(TYPED_QMP_COMMANDS.length).toBeGreaterThan(50);
    expect(TYPED_QMP_COMMANDS.filter((name) => !available.has(name))).toEqual([]);
  });

  it('greets, reports prelaunch, and pauses/resumes with events', async () => {
    const { client } = await launch();
    expect(client.greeting.version.major).toBeGreaterThanOrEqual(7);
    const version = await client.queryVersion();
    expect(version.qemu).toEqual({ major: client.greeting.version.major, minor: client.greeting.version.minor, micro: client.greeting.version.micro });

    expect(await client.queryStatus()).toEqual({ running: false, state: 'prelaunch' });

    const resumed = nextEvent(client, 'resumed');
    await client.cont();
    await expect(resumed).resolves.toMatchObject({ type: 'resumed' });
    expect(await client.queryStatus()).toEqual({ running: true, state: 'running' });

    const paused = nextEvent(client, 'paused');
    await client.stop();
    await expect(paused).resolves.toMatchObject({ type: 'paused' });
    expect(await client.queryStatus()).toEqual({ running: false, state: 'paused' });

    expect(await client.queryKvm()).toEqual({ enabled: false, present: expect.any(Boolean) });
    const cpus = await client.queryCpusFast();
    expect(cpus).toHaveLength(1);
    expect(cpus[0]!.target).toBe('x86_64');
  });

  it("gives QEMU's class and description for a failing command", async () => {
    const { client } = await launch();
    const error = await client.deviceAdd({ driver: 'no-such-device-model', id: 'x' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QmpCommandError);
    const commandError = error as QmpCommandError;
    expect(commandError.command).toBe('device_add');
    expect(commandError.errorClass).toBe('GenericError');
    expect(commandError.description).toContain('no-such-device-model');
    expect(commandError.message).toBe(`device_add failed: ${commandError.description}`);

    const missing = (await client.deviceDel('ghost').catch((e: unknown) => e)) as QmpCommandError;
    expect(missing.errorClass).toBe('DeviceNotFound');

    // The connection is still fine after errors.
    expect((await client.queryStatus()).state).toBe('prelaunch');
  });

  it('writes a PNG screendump and accepts keys', async () => {
    const { client, dir } = await launch(['-device', 'VGA']);
    await client.cont();
    const out = join(dir, 'screen.png');
    await client.screendumpPng(out);
    const png = await readFile(out);
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    await client.sendKeys(['shift', 'a']);
    // HMP answers too (info network): no taps on this QEMU.
    expect(await client.tapNames()).toEqual([]);
  });

  it('quit: SHUTDOWN event, connection closed, QEMU exits 0', async () => {
    const r = await launch();
    const shutdown = nextEvent(r.client, 'shutdown');
    await r.client.quit();
    expect(await shutdown).toMatchObject({ type: 'shutdown', byGuest: false, cause: 'host-qmp-quit' });
    expect(r.client.closed).toBe(true);
    expect(await r.exited).toEqual({ code: 0, signal: null });
  });

  it('QEMU killed: pending commands rejected and the close is observed', async () => {
    const r = await launch();
    let closeSeen = false;
    r.client.onClose(() => (closeSeen = true));
    // A command QEMU is still answering when it dies: ask something, then kill at once.
    const pending = r.client.queryCpuDefinitions().then(
      () => 'replied',
      (error: unknown) => error,
    );
    r.child.kill('SIGKILL');
    await r.client.whenClosed();
    const outcome = await pending;
    // QEMU may have answered before the kill landed; either way nothing hangs.
    if (outcome !== 'replied') expect(outcome).toBeInstanceOf(QmpClosedError);
    expect(closeSeen).toBe(true);
    await expect(r.client.queryStatus()).rejects.toBeInstanceOf(QmpClosedError);
  });
});
