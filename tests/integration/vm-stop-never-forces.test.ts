// Shut down never forces unless asked: a guest that ignores the ACPI power button (the test guest
// with its button driver kept from loading) stays running through `vm stop --wait`, the engine's
// stop answers at once and leaves it "shutting down", and only --force-after / --timeout / --force,
// or the manager's forceAfterMs, end it.
import { copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVmCommands } from '../../engine/cli/vm-commands';
import { VmManager } from '../../engine/vm/manager';
import { isAlive, waitForExit } from '../../engine/vm/runtime/pidfile';
import { forkWorkerFactory } from '../../engine/vm/supervision/worker';
import { ensureTestGuest, IGNORE_ACPI_POWER_BUTTON, READY_LINE, type TestGuest } from '../guest/guest';
import { createTempHome, killProcessesUnder, type TempHome } from '../support/leaks';
import { cliRunner, fileSize, waitFor, waitForSerial, type CliResult } from '../support/vm-helpers';

const SUPERVISOR = fileURLToPath(new URL('../../engine/vm/supervision/supervisor-main.ts', import.meta.url));

let guest: TestGuest;
let home: TempHome;
let cli: (...argv: string[]) => Promise<CliResult>;
let manager: VmManager | undefined;

beforeAll(async () => {
  guest = await ensureTestGuest();
  home = await createTempHome('vd-stop-never-forces-');
  cli = cliRunner(createVmCommands(), home.env);
});
afterAll(async () => {
  await manager?.close();
  await killProcessesUnder(home.home);
  await home?.cleanup();
});

async function show(name: string): Promise<{ runtime: { state: string; pid: number | null; stateReason: string | null; serialLog: string } }> {
  return JSON.parse((await cli('vm', 'show', name, '--json')).stdout) as { runtime: { state: string; pid: number | null; stateReason: string | null; serialLog: string } };
}

/** Starts `name` through the CLI and waits for its ready line; returns QEMU's pid. */
async function startReady(name: string): Promise<number> {
  const serialLog = (await show(name)).runtime.serialLog;
  const offset = await fileSize(serialLog);
  expect((await cli('vm', 'start', name)).code).toBe(0);
  await waitForSerial(serialLog, READY_LINE, 120_000, offset);
  return (await show(name)).runtime.pid!;
}

describe('virtdesk vm stop with a guest that ignores the power button', () => {
  it('--wait: says the guest still runs and exits 1 without forcing; --timeout and --force-after force; --help names both', async () => {
    const disk = join(home.home, 'stubborn.qcow2');
    await copyFile(guest.blankQcow2, disk);
    const created = await cli('vm', 'create', 'stubborn', '--memory', '192', '--disk', disk, '--kernel', guest.kernel, '--initrd', guest.initrd, '--append', `${guest.cmdline} ${IGNORE_ACPI_POWER_BUTTON}`, '--accel', 'tcg');
    expect(created.stderr).toBe('');
    const pid = await startReady('stubborn');

    const started = Date.now();
    const waited = await cli('vm', 'stop', 'stubborn', '--wait', '3');
    expect(Date.now() - started).toBeGreaterThanOrEqual(3000);
    expect(waited.code).toBe(1);
    expect(waited.stderr).toContain('waiting up to 3 s; it is not forced');
    expect(waited.stderr).toContain('VM "stubborn" is still running: its guest did not power off within 3 s of the shutdown request, and it was not forced off.');
    expect(waited.stderr).toContain('virtdesk vm stop stubborn --force');
    expect(waited.stdout).toBe('');
    expect(await isAlive(pid)).toBe(true);
    expect((await show('stubborn')).runtime.pid).toBe(pid);

    const old = await cli('vm', 'stop', 'stubborn', '--timeout', '2');
    expect(old.stderr).toContain('forced off after 2 s');
    expect(old.stdout).toBe('VM "stubborn" was forced off.\n');
    expect(old.code).toBe(0);
    expect(await waitForExit(pid, 1000)).toBe(true);
    expect((await show('stubborn')).runtime).toMatchObject({ state: 'stopped', stateReason: 'forced off by the user' });

    const second = await startReady('stubborn');
    const forced = await cli('vm', 'stop', 'stubborn', '--force-after', '2', '--wait', '60');
    expect(forced.stdout).toBe('VM "stubborn" was forced off.\n');
    expect(await waitForExit(second, 1000)).toBe(true);

    const help = await cli('vm', 'stop', '--help');
    expect(help.stdout).toContain('--wait SECONDS');
    expect(help.stdout).toContain('--force-after SECONDS');
    expect(help.stdout).toContain('--timeout SECONDS is the old name of this option');
    expect((await cli('vm', 'stop', 'stubborn', '--wait', 'soon')).stderr).toContain('--wait must be a positive number of seconds, not "soon"');
  });

  it('the engine answers at once and leaves the VM shutting down; only forceAfterMs forces it, later', async () => {
    manager = await VmManager.open({
      home: home.home,
      env: home.env,
      workers: forkWorkerFactory({ execArgv: ['--import', 'tsx'] }),
      supervisorEntry: SUPERVISOR,
      statsIntervalMs: 0,
      pollIntervalMs: 300,
      restartPolicy: { initialDelayMs: 100 },
    });
    const serialLog = (await manager.get('stubborn')).runtime.serialLog;
    const offset = await fileSize(serialLog);
    await manager.start('stubborn');
    await waitForSerial(serialLog, READY_LINE, 120_000, offset);
    const pid = (await manager.get('stubborn')).runtime.pid!;

    const asked = Date.now();
    expect(await manager.stop('stubborn')).toEqual({ stopped: false, forced: false });
    expect(Date.now() - asked).toBeLessThan(5000);
    expect(manager.stateOf((await manager.get('stubborn')).definition.id)).toBe('shutting-down');
    const entry = (await manager.list()).find((vm) => vm.name === 'stubborn')!;
    expect(entry.state).toBe('shutting-down');
    expect(Date.parse(entry.stateSince!)).toBeGreaterThanOrEqual(asked - 1000);
    // Nobody forces it: 5 s later QEMU still runs and the VM still reads shutting down.
    await new Promise((resolve) => setTimeout(resolve, 5000));
    expect(await isAlive(pid)).toBe(true);
    expect(manager.stateOf(entry.id)).toBe('shutting-down');

    // Asked again with the preference's "force off after": forced in the background, once due.
    const again = Date.now();
    expect(await manager.stop('stubborn', { forceAfterMs: 2000 })).toEqual({ stopped: false, forced: false });
    await waitFor('the VM forced off', () => manager!.stateOf(entry.id) === 'stopped', 30_000);
    expect(Date.now() - again).toBeGreaterThanOrEqual(2000);
    expect(await waitForExit(pid, 5000)).toBe(true);
    expect((await manager.get('stubborn')).runtime.stateReason).toBe('forced off by the user');
  });
});
