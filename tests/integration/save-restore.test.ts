// Save and restore of the test guest under TCG: the guest continues (uptime, RAM contents), a full
// disk leaves it running with no partial file, a changed machine type is refused, --discard boots afresh.
import { execFile } from 'node:child_process';
import { mkdir, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { snapshotCommands } from '../../engine/cli/snapshot-commands';
import { createVmCommands } from '../../engine/cli/vm-commands';
import { VmRegistry } from '../../engine/vm/definitions/registry';
import type { EngineError } from '../../engine/api/errors';
import { readSavedState, savedStateDir, saveVm } from '../../engine/vm/ops/save-restore';
import { SerialShell } from '../fixtures/storage/serial-shell';
import { ensureTestGuest, READY_LINE, type TestGuest } from '../guest/guest';
import { assertNoLeftoverSockets, createTempHome, killProcessesUnder, type TempHome } from '../support/leaks';
import { cliRunner, fileSize, guestVmInput, waitForSerial, type CliResult } from '../support/vm-helpers';

const run = promisify(execFile);

let guest: TestGuest;
let home: TempHome;
let registry: VmRegistry;
let cli: (...argv: string[]) => Promise<CliResult>;
const shells: SerialShell[] = [];
const mounts: string[] = [];
const timings: Record<string, number> = {};

beforeAll(async () => {
  guest = await ensureTestGuest();
  home = await createTempHome('vd-save-');
  registry = new VmRegistry(home.home, home.env);
  cli = cliRunner([...createVmCommands(), ...snapshotCommands], home.env);
});
afterEach(() => {
  for (const shell of shells.splice(0)) shell.close();
});
afterAll(async () => {
  await killProcessesUnder(home.home);
  for (const mount of mounts) await run('umount', ['-l', mount]).catch(() => undefined);
  console.log('save/restore timings (ms):', JSON.stringify(timings));
  await home?.cleanup();
});

async function ok(...argv: string[]): Promise<CliResult> {
  const result = await cli(...argv);
  if (result.code !== 0) throw new Error(`virtdesk ${argv.join(' ')} failed (${result.code}):\n${result.stderr}${result.stdout}`);
  return result;
}

async function shell(name: string): Promise<SerialShell> {
  const opened = await SerialShell.open(registry.paths(await registry.resolve(name)).serialSocket);
  shells.push(opened);
  return opened;
}

async function boot(name: string): Promise<SerialShell> {
  const paths = registry.paths(await registry.resolve(name));
  const offset = await fileSize(paths.serialLog);
  await ok('vm', 'start', name);
  await waitForSerial(paths.serialLog, READY_LINE, 120_000, offset);
  return shell(name);
}

async function uptime(sh: SerialShell): Promise<number> {
  const match = /(\d+\.\d+) \d+\.\d+/.exec(await sh.run('cat /proc/uptime'));
  if (!match) throw new Error('no uptime');
  return Number(match[1]);
}

describe('save and restore', () => {
  it('saves a running guest and restores it: uptime continues and RAM contents are back', async () => {
    await registry.create(await guestVmInput(guest, home.home, 'sleeper'));
    const def = await registry.resolve('sleeper');
    let sh = await boot('sleeper');
    await sh.run('echo kept-in-ram > /tmp/ram-marker');
    // Let the guest live a while, so a fresh boot's uptime could not reach this.
    await new Promise((resolve) => setTimeout(resolve, 8000));
    const before = await uptime(sh);
    expect(before).toBeGreaterThan(5);

    const started = Date.now();
    const saved = await ok('vm', 'save', 'sleeper');
    timings['save (CLI, 192 MiB guest)'] = Date.now() - started;
    expect(saved.stdout).toMatch(/^Saved VM "sleeper" \(\d+ MiB in \d+\.\d s\) and stopped it\./);
    const status = await registry.status(def);
    expect(status).toMatchObject({ state: 'stopped', pid: undefined, exitReason: { kind: 'user-stopped', forced: false } });
    const record = await readSavedState(home.home, def.id);
    expect(record).toMatchObject({ machineType: 'pc-q35-7.2', runState: 'running' });
    timings['save (QEMU writing the state)'] = (record as { durationMs: number }).durationMs;
    await assertNoLeftoverSockets(home.home);

    // Some wall-clock time passes while it is saved; the guest must not notice a reboot.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const restoreStarted = Date.now();
    const restored = await ok('vm', 'start', 'sleeper');
    timings['restore (vm start of a saved VM)'] = Date.now() - restoreStarted;
    expect(restored.stdout).toContain('Resumed VM "sleeper" from its saved state');
    sh = await shell('sleeper');
    const after = await uptime(sh);
    expect(after).toBeGreaterThanOrEqual(before);
    // Restored, not booted: the guest's clock counts the time it ran, not the time it was saved.
    expect(after).toBeLessThan(before + (Date.now() - started) / 1000 + 5);
    expect(await sh.run('cat /tmp/ram-marker')).toContain('kept-in-ram');
    // A successful restore removes the file; the next start boots.
    expect(await readSavedState(home.home, def.id)).toBeUndefined();
    await expect(stat(savedStateDir(home.home, def.id))).rejects.toThrow();
  });

  it('restores a saved VM through `vm restore`, and `vm restore --discard` boots afresh', async () => {
    const def = await registry.resolve('sleeper');
    await ok('vm', 'save', 'sleeper');
    const again = await cli('vm', 'save', 'sleeper');
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('Cannot save VM "sleeper": it is stopped.');
    const restored = await ok('vm', 'restore', 'sleeper');
    expect(restored.stdout).toMatch(/^Restored VM "sleeper" from its saved state/);
    const sh = await shell('sleeper');
    expect(await sh.run('cat /tmp/ram-marker')).toContain('kept-in-ram');
    sh.close();

    await ok('vm', 'save', 'sleeper');
    const discarded = await ok('vm', 'restore', 'sleeper', '--discard');
    expect(discarded.stdout).toContain('its next start boots afresh');
    const fresh = await boot('sleeper');
    expect(await fresh.run('cat /tmp/ram-marker 2>&1')).toContain('No such file');
    const none = await cli('vm', 'restore', 'sleeper');
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('VM "sleeper" has no saved state.');
    await ok('vm', 'stop', 'sleeper', '--force');
    expect((await registry.status(def)).state).toBe('stopped');
  });

  it('refuses to restore into another machine type, keeping the state; restores once it is back', async () => {
    const def = await registry.resolve('sleeper');
    const sh = await boot('sleeper');
    await sh.run('echo machine-test > /tmp/ram-marker');
    sh.close();
    await ok('vm', 'save', 'sleeper');
    await registry.store.update(def.id, () => ({ machine: 'pc' as const }));
    const refused = await cli('vm', 'start', 'sleeper');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('The saved state of VM "sleeper" was taken on machine type pc-q35-7.2 (a q35 machine), but the VM is now a pc machine');
    expect(refused.stderr).toContain('virtdesk vm restore --discard sleeper');
    expect((await registry.status(def)).state).toBe('stopped');
    expect(await readSavedState(home.home, def.id)).toMatchObject({ machineType: 'pc-q35-7.2' });

    await registry.store.update(def.id, () => ({ machine: 'q35' as const }));
    await ok('vm', 'start', 'sleeper');
    expect(await (await shell('sleeper')).run('cat /tmp/ram-marker')).toContain('machine-test');
    await ok('vm', 'stop', 'sleeper', '--force');
  });

  it('keeps a state QEMU cannot load and says why', async () => {
    const def = await registry.resolve('sleeper');
    await boot('sleeper');
    await ok('vm', 'save', 'sleeper');
    const file = (await readSavedState(home.home, def.id)) as { file: string };
    await run('truncate', ['-s', '1M', file.file]);
    const refused = await cli('vm', 'start', 'sleeper');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('Restoring VM "sleeper" from its saved state failed');
    expect(refused.stderr).toContain('The saved state is kept.');
    expect(await readSavedState(home.home, def.id)).toBeDefined();
    const status = await registry.status(def);
    expect(status.pid).toBeUndefined();
    await ok('vm', 'restore', 'sleeper', '--discard');
    await assertNoLeftoverSockets(home.home);
  });

  it('a cancelled save leaves the guest running and nothing saved', async () => {
    const def = await registry.resolve('sleeper');
    const sh = await boot('sleeper');
    const controller = new AbortController();
    let cancelledAt: number | undefined;
    const error = await saveVm(def, { home: home.home, env: home.env }, {
      signal: controller.signal,
      onProgress: (fraction) => {
        if (fraction < 1 && cancelledAt === undefined) {
          cancelledAt = fraction;
          controller.abort();
        }
      },
    }).then(
      () => undefined,
      (failure: unknown) => failure as EngineError,
    );
    expect(cancelledAt).toBeDefined();
    expect(error?.code).toBe('cancelled');
    expect(error?.message).toBe('Saving VM "sleeper" was cancelled; it keeps running.');
    expect((await registry.status(def)).state).toBe('running');
    expect(await readSavedState(home.home, def.id)).toBeUndefined();
    expect(await readdir(savedStateDir(home.home, def.id))).toEqual([]);
    expect(await sh.run('echo cancelled-$((1+1))')).toContain('cancelled-2');
    await ok('vm', 'stop', 'sleeper', '--force');
  });

  it('save on a full disk: the VM keeps running and the partial file is removed', { skip: process.getuid?.() !== 0 }, async () => {
    // The VM's data folder on a 24 MiB tmpfs: its definition and logs fit, the memory image does not.
    const id = globalThis.crypto.randomUUID();
    const dataDir = join(home.home, 'vms', id);
    await mkdir(dataDir, { recursive: true });
    await run('mount', ['-t', 'tmpfs', '-o', 'size=24m,mode=0755', 'tmpfs', dataDir]);
    mounts.push(dataDir);
    await registry.create({ ...(await guestVmInput(guest, home.home, 'tight')), id });
    const sh = await boot('tight');
    const before = await uptime(sh);
    const refused = await cli('vm', 'save', 'tight');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`Cannot save VM "tight": the disk holding ${join(dataDir, 'saved')} is full`);
    expect(refused.stderr).toContain('The VM keeps running; the partial file was removed.');
    const def = await registry.resolve('tight');
    expect((await registry.status(def)).state).toBe('running');
    expect(await readdir(join(dataDir, 'saved'))).toEqual([]);
    expect(await readSavedState(home.home, id)).toBeUndefined();
    // The same console: the guest never stopped being there.
    expect(await uptime(sh)).toBeGreaterThanOrEqual(before);
    expect(await sh.run('echo alive-$((40+2))')).toContain('alive-42');
    await ok('vm', 'stop', 'tight', '--force');
  });
});
