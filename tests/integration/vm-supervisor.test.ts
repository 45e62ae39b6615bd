import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createVmCommands } from '../../engine/cli/vm-commands';
import { VmManager, type VmManagerEvent } from '../../engine/vm/manager';
import { isAlive, waitForExit } from '../../engine/vm/runtime/pidfile';
import { forkWorkerFactory } from '../../engine/vm/supervision/worker';
import { ensureTestGuest, READY_LINE, type TestGuest } from '../guest/guest';
import { createTempHome, killProcessesUnder, type TempHome } from '../support/leaks';
import { cliRunner, fileSize, guestVmInput, waitFor, waitForSerial } from '../support/vm-helpers';

const SUPERVISOR = fileURLToPath(new URL('../../engine/vm/supervision/supervisor-main.ts', import.meta.url));

let guest: TestGuest;
let home: TempHome;
const managers: VmManager[] = [];
const events: VmManagerEvent[] = [];

beforeAll(async () => {
  guest = await ensureTestGuest();
  home = await createTempHome('vd-vm-sup-');
});
afterEach(async () => {
  for (const manager of managers.splice(0)) await manager.close();
  // Leave no VM running between tests.
  await killProcessesUnder(home.home);
});
afterAll(async () => {
  await home?.cleanup();
});

async function openManager(): Promise<VmManager> {
  const manager = await VmManager.open({
    home: home.home,
    env: home.env,
    workers: forkWorkerFactory({ execArgv: ['--import', 'tsx'] }),
    supervisorEntry: SUPERVISOR,
    statsIntervalMs: 500,
    pollIntervalMs: 300,
    restartPolicy: { initialDelayMs: 100 },
    onEvent: (event) => events.push(event),
    log: () => {},
  });
  managers.push(manager);
  return manager;
}

async function state(manager: VmManager, name: string) {
  return (await manager.get(name)).runtime;
}

describe('VM supervisors', () => {
  it('a killed supervisor leaves the VM running and a new one re-attaches with the right state', async () => {
    const manager = await openManager();
    const def = await manager.create(await guestVmInput(guest, home.home, 'sup'));
    await manager.start('sup');
    const runtime = await state(manager, 'sup');
    expect(runtime.state).toBe('running');
    const qemuPid = runtime.pid!;
    const first = await waitFor('a supervisor', () => manager.supervisorPid(def.id));
    // The guest kernel reads /dev/vda's partition table while it boots.
    const stats = await waitFor('stats with disk reads', async () => {
      const sample = await manager.stats('sup').catch(() => undefined);
      return sample && sample.blockReadBytes > 0 && sample.cpuPercent !== null ? sample : undefined;
    }, 90_000);
    expect(stats.rssBytes).toBeGreaterThan(50 * 1024 * 1024);
    expect(stats.cpuPercent).toBeGreaterThan(0);
    expect(stats.netRxBytes).toBeNull();
    expect(events).toContainEqual(expect.objectContaining({ type: 'vm.stats', id: def.id }));

    await manager.pause('sup');
    process.kill(first, 'SIGKILL');
    const second = await waitFor('a new supervisor', () => {
      const pid = manager.supervisorPid(def.id);
      return pid !== undefined && pid !== first ? pid : undefined;
    });
    expect(second).not.toBe(first);
    expect(await isAlive(qemuPid)).toBe(true);
    await waitFor('the new supervisor to attach', () => manager.isWatched(def.id), 30_000);
    expect((await state(manager, 'sup')).state).toBe('paused');
    expect((await state(manager, 'sup')).pid).toBe(qemuPid);

    // The re-attached supervisor still hears QEMU: a resume from the CLI reaches this host within a second.
    const cli = cliRunner(createVmCommands(), home.env);
    expect((await cli('vm', 'resume', 'sup')).code).toBe(0);
    const seenAt = Date.now();
    await waitFor('running after the CLI resumed', async () => manager.stateOf(def.id) === 'running', 1000, 20);
    expect(Date.now() - seenAt).toBeLessThan(1000);
    await manager.stop('sup', { force: true });
    expect(await waitForExit(qemuPid, 5000)).toBe(true);
    expect(await state(manager, 'sup')).toMatchObject({ state: 'stopped', stateReason: 'forced off by the user' });
  });

  it('a QEMU killed with SIGKILL makes the VM crashed with a reason', async () => {
    const manager = await openManager();
    await manager.start('sup');
    const qemuPid = (await state(manager, 'sup')).pid!;
    await waitFor('a supervisor', async () => manager.supervisorPid((await manager.get('sup')).definition.id));
    process.kill(qemuPid, 'SIGKILL');
    await waitFor('crashed', async () => (await state(manager, 'sup')).state === 'crashed', 20_000);
    const runtime = await state(manager, 'sup');
    expect(runtime.exitReason?.kind).toBe('killed');
    expect(runtime.stateReason).toMatch(/QEMU was killed: QEMU ended without shutting down/);
    expect(events).toContainEqual(expect.objectContaining({ type: 'vm.state', state: 'crashed' }));
    // The CLI, with no supervisor of its own, reads the same verdict.
    const cli = cliRunner(createVmCommands(), home.env);
    const shown = JSON.parse((await cli('vm', 'show', 'sup', '--json')).stdout);
    expect(shown.runtime.state).toBe('crashed');
    expect(shown.runtime.exitReason.kind).toBe('killed');
    // A crashed VM can start again.
    await manager.start('sup');
    expect((await state(manager, 'sup')).state).toBe('running');
    await manager.stop('sup', { force: true });
  });

  it('a VM started by the CLI is picked up, and a guest powering itself off is a guest shutdown', async () => {
    const manager = await openManager();
    const def = (await manager.get('sup')).definition;
    const cli = cliRunner(createVmCommands(), home.env);
    const serialLog = (await manager.get('sup')).runtime.serialLog;
    const offset = await fileSize(serialLog);
    const started = await cli('vm', 'start', 'sup');
    expect(started.code).toBe(0);
    // The host polls every 300 ms here (1 s by default) and asks QEMU its state at once.
    await waitFor('the host to see the CLI start', () => manager.stateOf(def.id) === 'running', 1500, 20);
    await waitFor('a supervisor watching it', () => manager.isWatched(def.id), 30_000);
    // Ctrl-Alt-Del makes the test guest power itself off (its inittab), with no request from us.
    await waitForSerial(serialLog, READY_LINE, 90_000, offset);
    expect((await cli('vm', 'send-keys', 'sup', 'ctrl-alt-delete')).code).toBe(0);
    await waitFor('stopped', async () => manager.stateOf(def.id) === 'stopped', 90_000);
    expect((await state(manager, 'sup')).exitReason).toEqual({ kind: 'guest-shutdown' });
  });

  it('after the host process goes, a new one re-attaches to all three running VMs', async () => {
    const first = await openManager();
    const names = ['r1', 'r2', 'r3'];
    for (const name of names) await first.create(await guestVmInput(guest, home.home, name, { memoryMiB: 128 }));
    for (const name of names) await first.start(name);
    const pids = await Promise.all(names.map(async (name) => (await state(first, name)).pid!));
    await first.pause('r2');
    const oldSupervisors = (await Promise.all(names.map(async (name) => first.supervisorPid((await first.get(name)).definition.id)))).filter((pid) => pid !== undefined);
    expect(oldSupervisors).toHaveLength(3);
    await first.close();
    for (const pid of oldSupervisors) expect(await waitForExit(pid, 5000)).toBe(true);
    managers.splice(managers.indexOf(first), 1);
    for (const pid of pids) expect(await isAlive(pid)).toBe(true);

    const second = await openManager();
    for (const [i, name] of names.entries()) {
      const id = (await second.get(name)).definition.id;
      await waitFor(`${name} re-attached`, () => second.isWatched(id), 30_000);
      await waitFor(`${name} state`, async () => (await state(second, name)).state === (name === 'r2' ? 'paused' : 'running'));
      expect((await state(second, name)).pid).toBe(pids[i]);
    }
    for (const name of names) await second.stop(name, { force: true });
    for (const pid of pids) expect(await waitForExit(pid, 5000)).toBe(true);
  });
});
