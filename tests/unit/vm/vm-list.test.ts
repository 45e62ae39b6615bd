import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readdir, readFile, readlink, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { createEventBus } from '../../../engine/api/events';
import { vmEvents, vmSummarySchema } from '../../../engine/api/vm-api';
import type { ConsoleGateway } from '../../../engine/console-gateway';
import { createVmDefinition, type VmDefinition } from '../../../engine/model';
import { localChangeListenerCount } from '../../../engine/store/local-changes';
import { isTemplate } from '../../../engine/vm/ops/clone/template';
import { VmManager, type VmListEntry, type VmManagerEvent } from '../../../engine/vm/manager';
import { waitForExit } from '../../../engine/vm/runtime/pidfile';
import { VmRegistry } from '../../../engine/vm/definitions/registry';
import { writeLastExit } from '../../../engine/vm/runtime/records';
import { savedAt, writeSavedStateRecord } from '../../../engine/vm/ops/save-restore/saved-state';
import { probeVmStatus } from '../../../engine/vm/runtime/probe';
import { createVmService, publishVmEvents } from '../../../engine/vm/vm-service';
import { openVmStore, vmStoreRoot } from '../../../engine/vm/definitions/store';
import type { VmWorker, WorkerFactory } from '../../../engine/vm/supervision/worker';
import { describeExitReason } from '../../../engine/vm/states';
import { createTempHome, type TempHome } from '../../support/leaks';
import { waitFor } from '../../support/vm-helpers';

const FAKE_QEMU = fileURLToPath(new URL('./fixtures/fake-qemu.mjs', import.meta.url));

let home: TempHome | undefined;
let manager: VmManager | undefined;
let qemu: ChildProcess | undefined;

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

/** Supervisors that attach at once and report the VM running (no real QEMU monitor needed). */
const fakeSupervisors: WorkerFactory = <In, Out>() => {
  const listeners = { message: [] as ((message: Out) => void)[], exit: [] as ((exit: unknown) => void)[] };
  const worker = {
    pid: 1,
    exit: undefined as unknown,
    postMessage(message: In) {
      const { type } = message as { type: string };
      if (type === 'attach') queueMicrotask(() => listeners.message.forEach((listener) => listener({ type: 'attached', pid: qemu?.pid ?? 0, state: 'running' } as Out)));
      if (type === 'detach') queueMicrotask(() => worker.kill());
    },
    on(event: 'message' | 'exit', listener: never) {
      listeners[event].push(listener);
      return () => undefined;
    },
    kill() {
      if (worker.exit) return;
      worker.exit = { kind: 'exited' };
      listeners.exit.forEach((listener) => listener(worker.exit));
    },
  };
  return worker as unknown as VmWorker<In, Out>;
};

async function openManager(options: { events?: VmManagerEvent[]; log?: string[]; pollIntervalMs?: number } = {}): Promise<VmManager> {
  manager = await VmManager.open({
    home: home!.home,
    env: home!.env,
    workers: fakeSupervisors,
    supervisorEntry: '/nonexistent/supervisor.mjs',
    statsIntervalMs: 0,
    pollIntervalMs: options.pollIntervalMs ?? 60_000,
    onEvent: (event) => options.events?.push(event),
    log: (line) => options.log?.push(line),
    watch: { debounceMs: 10, pollIntervalMs: 200 },
  });
  return manager;
}

function definition(name: string, extra: Record<string, unknown> = {}): VmDefinition {
  return createVmDefinition({ name, accelerator: 'tcg', nics: [], ...extra });
}

/** What another process (the CLI, an editor) does: a file written beside the store, atomically. */
async function writeByHand(id: string, content: string | VmDefinition): Promise<void> {
  const folder = join(vmStoreRoot(home!.home), id);
  await mkdir(folder, { recursive: true });
  const text = typeof content === 'string' ? content : JSON.stringify(content, null, 2);
  await writeFile(join(folder, '.by-hand.tmp'), text);
  await rename(join(folder, '.by-hand.tmp'), join(folder, 'vm.json'));
}

/** The list computed the slow way, from disk, as VmManager.list did before it kept definitions in memory. */
async function listFromDisk(): Promise<Omit<VmListEntry, 'stateSince'>[]> {
  const registry = new VmRegistry(home!.home, home!.env);
  const defs = (await registry.store.list()).items;
  return Promise.all(
    defs.map(async (def) => {
      const status = await probeVmStatus(registry.paths(def), def.name);
      const saved = await savedAt(home!.home, def.id);
      const reason = status.exitReason ? describeExitReason(status.exitReason) : null;
      return {
        id: def.id,
        name: def.name,
        description: def.description,
        tags: def.tags,
        osId: def.osId,
        state: status.state,
        stateReason: status.state === 'stopped' && saved !== null ? `saved at ${saved}; starting it resumes the guest where it was` : reason,
        vcpus: def.cpu.vcpus,
        memoryMiB: def.memory.maximumMiB,
        autostart: def.autostart,
        createdAt: def.createdAt,
        savedAt: saved,
        template: await isTemplate(home!.home, def.id),
      };
    }),
  );
}

/** The disk knows no state times; compare the rest. */
const sinceless = (list: VmListEntry[]) => list.map((entry) => ({ ...entry, stateSince: undefined }));

const changedEvents = (events: VmManagerEvent[]) => events.filter((event): event is Extract<VmManagerEvent, { type: 'vms.changed' }> => event.type === 'vms.changed');

async function inotifyWatches(): Promise<number> {
  let count = 0;
  for (const fd of await readdir('/proc/self/fd')) {
    if ((await readlink(`/proc/self/fd/${fd}`).catch(() => '')) !== 'anon_inode:inotify') continue;
    const info = await readFile(`/proc/self/fdinfo/${fd}`, 'utf8').catch(() => '');
    count += info.split('\n').filter((line) => line.startsWith('inotify wd:')).length;
  }
  return count;
}

const settle = (ms = 400) => new Promise((resolve) => setTimeout(resolve, ms));

describe('VmManager.list from memory', () => {
  it('answers exactly what the disk says, in the contract shape: descriptions, tags, template marks, saved states, crashed runs', async () => {
    home = await createTempHome('vd-vmlist-');
    const store = openVmStore(home.home);
    const defs: VmDefinition[] = [];
    for (let i = 0; i < 12; i++) {
      defs.push(await store.create(definition(`vm-${String(i).padStart(2, '0')}`, { description: i % 3 ? '' : `number ${i}`, tags: i % 4 ? [] : ['lab', `t${i}`], memory: { maximumMiB: 256 * (1 + (i % 3)) } })));
    }
    await writeFile(join(vmStoreRoot(home.home), defs[2]!.id, 'template.json'), JSON.stringify({ markedAt: new Date().toISOString(), modes: {} }));
    await mkdir(join(vmStoreRoot(home.home), defs[5]!.id, 'saved'));
    await writeSavedStateRecord(home.home, defs[5]!.id, { version: 1, savedAt: '2026-01-02T03:04:05.000Z', machineType: 'pc-q35-7.2', runState: 'running', qemuVersion: '7.2.0', sizeBytes: 1, durationMs: 1, definition: {} });
    const registry = new VmRegistry(home.home, home.env);
    await writeLastExit(registry.paths(defs[7]!), { pid: 1234, at: new Date().toISOString(), reason: { kind: 'qemu-crashed', message: 'QEMU exited with code 1' } });

    const vms = await openManager();
    const list = await vms.list();
    expect(sinceless(list)).toEqual(await listFromDisk());
    expect(list.find((vm) => vm.id === defs[2]!.id)?.template).toBe(true);
    expect(list.find((vm) => vm.id === defs[5]!.id)?.savedAt).toBe('2026-01-02T03:04:05.000Z');
    expect(list.find((vm) => vm.id === defs[7]!.id)?.state).toBe('crashed');
    // The contract's schema, with no field it does not know.
    expect(() => z.array(vmSummarySchema.strict()).parse(list)).not.toThrow();
    // Callers get their own copies.
    list[0]!.tags.push('mine');
    expect((await vms.list())[0]!.tags).not.toContain('mine');
  });

  it('shows this process\'s writes as soon as they return, from the manager, the registry, and another registry (snapshot revert), each announced once with its summary', async () => {
    home = await createTempHome('vd-vmlist-');
    const events: VmManagerEvent[] = [];
    const vms = await openManager({ events });

    const created = await vms.create({ name: 'web', accelerator: 'tcg', nics: [] });
    expect((await vms.list()).map((vm) => vm.name)).toEqual(['web']);
    let last = changedEvents(events).at(-1)!;
    expect(last.ids).toEqual([created.id]);
    expect(last.summaries).toEqual(await vms.list());

    await vms.registry.store.update(created.id, () => ({ description: 'edited' }));
    expect((await vms.list())[0]!.description).toBe('edited');
    expect(changedEvents(events).at(-1)!.summaries[0]!.description).toBe('edited');

    // A snapshot revert rewrites the definition through a registry of its own.
    await new VmRegistry(home.home, home.env).store.update(created.id, (fresh) => ({ memory: { ...fresh.memory, maximumMiB: 2048, currentMiB: 2048 } }));
    expect((await vms.list())[0]!.memoryMiB).toBe(2048);

    const clone = await vms.registry.store.create(definition('web-clone'));
    expect((await vms.list()).map((vm) => vm.name)).toEqual(['web', 'web-clone']);
    await vms.registry.store.rename(clone.id, 'a-clone');
    expect((await vms.list()).map((vm) => vm.name)).toEqual(['a-clone', 'web']);

    await vms.delete(created.id);
    expect((await vms.list()).map((vm) => vm.name)).toEqual(['a-clone']);
    last = changedEvents(events).at(-1)!;
    expect(last).toEqual({ type: 'vms.changed', ids: [created.id], summaries: [] });

    // The watcher later sees the same files: nothing is announced twice.
    await settle();
    const announced = changedEvents(events).flatMap((event) => event.ids);
    expect(announced.filter((id) => id === created.id)).toHaveLength(4);
    expect(announced.filter((id) => id === clone.id)).toHaveLength(2);
    expect(sinceless(await vms.list())).toEqual(await listFromDisk());
  });

  it('picks up definitions written by another process within a second (a second process through its store, an editor by hand)', async () => {
    home = await createTempHome('vd-vmlist-');
    const store = openVmStore(home.home);
    const existing: VmDefinition[] = [];
    for (let i = 0; i < 5; i++) existing.push(await store.create(definition(`vm-${i}`)));
    const events: VmManagerEvent[] = [];
    const vms = await openManager({ events });

    // A real second process writing through its own store (what `virtdesk vm create` does).
    const script = `import { openVmStore } from ${JSON.stringify(fileURLToPath(new URL('../../../engine/vm/definitions/store.ts', import.meta.url)))};
      import { createVmDefinition } from ${JSON.stringify(fileURLToPath(new URL('../../../engine/model/index.ts', import.meta.url)))};
      const store = openVmStore(process.argv[1]);
      const def = await store.create(createVmDefinition({ name: 'from-cli', accelerator: 'tcg', nics: [] }));
      await store.update(${JSON.stringify(existing[1]!.id)}, () => ({ description: 'edited by the CLI' }));
      console.log(def.id);`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, home.home], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const code = await new Promise((resolve) => child.on('exit', resolve));
    expect(code).toBe(0);
    const cliId = out.trim();
    const finished = Date.now();

    await waitFor('the CLI\'s VM in the list', async () => (await vms.list()).some((vm) => vm.id === cliId), 1000, 10);
    await waitFor('the CLI\'s edit in the list', async () => (await vms.list()).find((vm) => vm.id === existing[1]!.id)?.description === 'edited by the CLI', 1000, 10);
    expect(Date.now() - finished).toBeLessThan(1000);
    const announced = changedEvents(events);
    expect(announced.flatMap((event) => event.ids)).toEqual(expect.arrayContaining([cliId, existing[1]!.id]));
    expect(announced.flatMap((event) => event.summaries).find((vm) => vm.id === cliId)?.name).toBe('from-cli');
    // Plain file edits (an editor) too.
    await writeByHand(existing[3]!.id, { ...existing[3]!, description: 'by hand' });
    await waitFor('the hand edit', async () => (await vms.list()).find((vm) => vm.id === existing[3]!.id)?.description === 'by hand', 1000, 10);
    expect(sinceless(await vms.list())).toEqual(await listFromDisk());
  });

  it('drops a VM whose vm.json is corrupted by hand, says why in the log and on get, and shows it again once fixed', async () => {
    home = await createTempHome('vd-vmlist-');
    const def = await openVmStore(home.home).create(definition('fragile'));
    const events: VmManagerEvent[] = [];
    const log: string[] = [];
    const vms = await openManager({ events, log });
    const file = join(vmStoreRoot(home.home), def.id, 'vm.json');

    await writeByHand(def.id, '{ "schemaVersion": 1, "id": ');
    await waitFor('the VM to leave the list', async () => (await vms.list()).length === 0, 1000, 10);
    expect(changedEvents(events).at(-1)).toEqual({ type: 'vms.changed', ids: [def.id], summaries: [] });
    expect(log.some((line) => line.includes(file) && line.includes('is not valid JSON'))).toBe(true);
    await expect(vms.get(def.id)).rejects.toMatchObject({ code: 'invalid-state', message: expect.stringContaining(file) });

    // Valid JSON that is not a valid definition is no better.
    await writeByHand(def.id, JSON.stringify({ ...def, memory: { maximumMiB: -5 } }));
    await waitFor('the second problem in the log', () => log.some((line) => line.includes('is not a valid VM definition')), 1000, 10);
    expect(await vms.list()).toEqual([]);

    await writeByHand(def.id, { ...def, description: 'repaired' });
    await waitFor('the VM back in the list', async () => (await vms.list())[0]?.description === 'repaired', 1000, 10);
  });

  it('follows template marks and saved states set by another process', async () => {
    home = await createTempHome('vd-vmlist-');
    const def = await openVmStore(home.home).create(definition('base'));
    const events: VmManagerEvent[] = [];
    const vms = await openManager({ events });
    await writeFile(join(vmStoreRoot(home.home), def.id, 'template.json'), JSON.stringify({ markedAt: new Date().toISOString(), modes: {} }));
    await waitFor('the template mark', async () => (await vms.list())[0]?.template === true, 1000, 10);
    expect(changedEvents(events).at(-1)!.summaries[0]).toMatchObject({ id: def.id, template: true });
    await mkdir(join(vmStoreRoot(home.home), def.id, 'saved'));
    await writeSavedStateRecord(home.home, def.id, { version: 1, savedAt: '2026-05-06T07:08:09.000Z', machineType: 'pc-q35-7.2', runState: 'running', qemuVersion: '7.2.0', sizeBytes: 1, durationMs: 1, definition: {} });
    // Inside saved/: fs.watch on the VM folder does not see it, the watcher's poll does.
    await waitFor('the saved state', async () => (await vms.list())[0]?.savedAt === '2026-05-06T07:08:09.000Z', 1500, 10);
    expect((await vms.list())[0]!.stateReason).toMatch(/^saved at 2026-05-06/);
  });

  it('sees a QEMU started by another process for a VM that never ran here (its runtime folder is new)', async () => {
    home = await createTempHome('vd-vmlist-');
    const def = await openVmStore(home.home).create(definition('cli-started'));
    const vms = await openManager({ pollIntervalMs: 100 });
    expect((await vms.list())[0]!.state).toBe('stopped');
    const paths = vms.registry.paths(def);
    await mkdir(paths.runDir, { recursive: true, mode: 0o700 });
    qemu = spawn(process.execPath, [FAKE_QEMU, '-pidfile', paths.pidFile, '-fake-socket', join(paths.runDir, 'unused.sock')], { stdio: 'ignore' });
    await waitFor('the VM to show running', async () => (await vms.list())[0]?.state === 'running', 5000, 20);
  });
});

describe('vms.update through the service', () => {
  it('announces the edit with its summary before the call returns, and the list shows it', async () => {
    home = await createTempHome('vd-vmlist-');
    const def = await openVmStore(home.home).create(definition('edited'));
    const bus = createEventBus<Record<string, unknown>>();
    const seen: unknown[] = [];
    bus.on('vms.changed', (data: unknown) => seen.push(data));
    const events: VmManagerEvent[] = [];
    manager = await VmManager.open({
      home: home.home,
      env: home.env,
      workers: fakeSupervisors,
      supervisorEntry: '/nonexistent/supervisor.mjs',
      statsIntervalMs: 0,
      pollIntervalMs: 60_000,
      onEvent: (event) => {
        events.push(event);
        publishVmEvents(bus)(event);
      },
      log: () => undefined,
    });
    const service = createVmService({ manager, consoles: {} as ConsoleGateway });
    const call = { signal: new AbortController().signal, peer: { id: 'test' } } as never;
    await service.update({ id: def.id, patch: { description: 'new words', tags: ['x'] } }, call);
    const event = changedEvents(events).at(-1)!;
    expect(event.ids).toEqual([def.id]);
    expect(event.summaries[0]).toMatchObject({ description: 'new words', tags: ['x'] });
    // What crosses the wire is valid for the renderer's client.
    expect(() => vmEvents['vms.changed'].parse({ ids: event.ids, summaries: event.summaries })).not.toThrow();
    expect(seen).toEqual([{ ids: [def.id], summaries: event.summaries }]);
    expect((await service.list({}, call))[0]).toMatchObject({ description: 'new words' });
  });
});

describe('close', () => {
  it('releases every watcher and listener, and announces nothing afterwards', async () => {
    home = await createTempHome('vd-vmlist-');
    const store = openVmStore(home.home);
    for (let i = 0; i < 3; i++) await store.create(definition(`vm-${i}`));
    const before = await inotifyWatches();
    const events: VmManagerEvent[] = [];
    const vms = await openManager({ events });
    expect(await inotifyWatches()).toBeGreaterThan(before);
    expect(localChangeListenerCount(vmStoreRoot(home.home))).toBe(1);
    await vms.close();
    manager = undefined;
    expect(await inotifyWatches()).toBe(before);
    expect(localChangeListenerCount(vmStoreRoot(home.home))).toBe(0);
    events.length = 0;
    await store.create(definition('after-close'));
    await writeByHand(crypto.randomUUID(), definition('by-hand-after-close'));
    await settle(500);
    expect(events).toEqual([]);
  });
});
