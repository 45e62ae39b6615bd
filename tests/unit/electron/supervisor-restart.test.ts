import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { utilityWorkerFactory } from '../../../main/electron/utility-worker';
import { createVmDefinition } from '../../../engine/model';
import { VmManager } from '../../../engine/vm/manager';
import { findRunningQemu, waitForExit } from '../../../engine/vm/runtime/pidfile';
import { VmRegistry } from '../../../engine/vm/definitions/registry';
import { createTempHome, type TempHome } from '../../support/leaks';
import { waitFor } from '../../support/vm-helpers';
import { fakeUtilityProcess, type FakeUtilityChild } from './fakes';

const FAKE_QEMU = fileURLToPath(new URL('../vm/fixtures/fake-qemu.mjs', import.meta.url));

let home: TempHome | undefined;
let qemu: ChildProcess | undefined;
let manager: VmManager | undefined;

afterEach(async () => {
  await manager?.close();
  manager = undefined;
  if (qemu?.pid !== undefined) {
    qemu.kill('SIGKILL');
    await waitForExit(qemu.pid, 5000);
  }
  qemu = undefined;
  await home?.cleanup();
  home = undefined;
});

/** A VM in a temp home whose "QEMU" (a stand-in process naming the VM's runtime folder) runs. */
async function runningVm() {
  home = await createTempHome('vd-electron-restart-');
  const registry = new VmRegistry(home.home, home.env);
  const def = await registry.store.create(createVmDefinition({ name: 'restart-demo' }));
  const paths = registry.paths(def);
  await mkdir(paths.runDir, { recursive: true, mode: 0o700 });
  qemu = spawn(process.execPath, [FAKE_QEMU, '-pidfile', paths.pidFile, '-fake-socket', join(paths.runDir, 'unused.sock')], { stdio: 'ignore' });
  await waitFor('the stand-in QEMU to be found', () => findRunningQemu(paths), 10_000, 20);
  return def;
}

/** Answers an attach the way the supervisor does. */
function actAsSupervisor(child: FakeUtilityChild, qemuPid: number) {
  child.on('posted', (message: { type?: string }) => {
    if (message.type === 'attach') queueMicrotask(() => child.send({ type: 'attached', pid: qemuPid, state: 'running' }));
    if (message.type === 'detach') queueMicrotask(() => child.exit(0));
  });
}

describe('VmManager with the utilityProcess worker factory', () => {
  it('re-attaches a supervisor that died, with growing delays, and gives up after too many crashes', async () => {
    const def = await runningVm();
    const utility = fakeUtilityProcess();
    const forkedAt: number[] = [];
    const realFork = utility.fork.bind(utility);
    utility.fork = (...args) => {
      forkedAt.push(Date.now());
      const child = realFork(...args);
      actAsSupervisor(child as FakeUtilityChild, qemu!.pid!);
      return child;
    };
    const lines: string[] = [];
    manager = await VmManager.open({
      home: home!.home,
      env: home!.env,
      workers: utilityWorkerFactory(utility),
      supervisorEntry: '/opt/Virtdesk/resources/app.asar.unpacked/dist/node/supervisor.cjs',
      statsIntervalMs: 0,
      pollIntervalMs: 60_000,
      restartPolicy: { initialDelayMs: 150, factor: 2, maxCrashes: 2, windowMs: 60_000 },
      log: (line) => lines.push(line),
    });
    const vm = manager;
    await waitFor('the first supervisor to attach', () => vm.isWatched(def.id), 10_000, 10);
    expect(utility.children).toHaveLength(1);
    expect(utility.children[0]!.modulePath).toBe('/opt/Virtdesk/resources/app.asar.unpacked/dist/node/supervisor.cjs');
    expect(utility.children[0]!.posted[0]).toMatchObject({ type: 'attach', vmId: def.id, home: home!.home });

    // Crash 1: restarted after the initial delay.
    const crash1 = Date.now();
    utility.children[0]!.exit(11);
    await waitFor('a second supervisor', () => utility.children.length === 2, 10_000, 10);
    expect(forkedAt[1]! - crash1).toBeGreaterThanOrEqual(140);
    await waitFor('the second supervisor to attach', () => vm.isWatched(def.id), 10_000, 10);
    expect(vm.supervisorPid(def.id)).toBe(40_001);

    // Crash 2: twice the delay.
    const crash2 = Date.now();
    utility.children[1]!.exit(1);
    await waitFor('a third supervisor', () => utility.children.length === 3, 10_000, 10);
    expect(forkedAt[2]! - crash2).toBeGreaterThanOrEqual(290);
    await waitFor('the third supervisor to attach', () => vm.isWatched(def.id), 10_000, 10);

    // Crash 3 within the window: more than maxCrashes, so no more supervisors for this QEMU.
    utility.children[2]!.exit(1);
    await new Promise((resolve) => setTimeout(resolve, 800));
    expect(utility.children).toHaveLength(3);
    expect(lines.join('\n')).toMatch(/supervisor keeps failing; not re-attaching to QEMU pid/);
    // The VM itself was never touched: QEMU runs on.
    expect(await findRunningQemu(vm.registry.paths(def))).toBe(qemu!.pid);
  });

  it('does not restart a supervisor it ended itself (close detaches; QEMU keeps running)', async () => {
    const def = await runningVm();
    const utility = fakeUtilityProcess();
    const realFork = utility.fork.bind(utility);
    utility.fork = (...args) => {
      const child = realFork(...args);
      actAsSupervisor(child as FakeUtilityChild, qemu!.pid!);
      return child;
    };
    manager = await VmManager.open({
      home: home!.home,
      env: home!.env,
      workers: utilityWorkerFactory(utility),
      supervisorEntry: '/x/supervisor.cjs',
      statsIntervalMs: 0,
      pollIntervalMs: 60_000,
      restartPolicy: { initialDelayMs: 50 },
      log: () => {},
    });
    const vm = manager;
    await waitFor('the supervisor to attach', () => vm.isWatched(def.id), 10_000, 10);
    await vm.close();
    manager = undefined;
    expect(utility.children[0]!.posted).toContainEqual({ type: 'detach' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(utility.children).toHaveLength(1);
    expect(await findRunningQemu(vm.registry.paths(def))).toBe(qemu!.pid);
  });
});
