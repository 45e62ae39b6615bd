// The vms service's snapshot, clone, template and save/restore methods over a real VmManager (with
// supervisors) and the test guest under TCG, plus applyQuitPreference: what the UI and the
// Electron host call.
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallContext } from '../../engine/api/contract';
import { EngineError } from '../../engine/api/errors';
import type { ConsoleGateway } from '../../engine/console-gateway';
import { vmCreateInputSchema } from '../../engine/model';
import { imageInfo } from '../../engine/storage/qemu-img/info';
import { VmManager, type VmManagerEvent } from '../../engine/vm/manager';
import { applyQuitPreference } from '../../engine/vm/ops/save-restore';
import { createVmService } from '../../engine/vm/vm-service';
import { forkWorkerFactory } from '../../engine/vm/supervision/worker';
import { ensureTestGuest, READY_LINE, type TestGuest } from '../guest/guest';
import { decodePng } from '../support/png';
import { createTempHome, killProcessesUnder, type TempHome } from '../support/leaks';
import { fileSize, guestVmInput, waitFor, waitForSerial } from '../support/vm-helpers';

const SUPERVISOR = fileURLToPath(new URL('../../engine/vm/supervision/supervisor-main.ts', import.meta.url));
const gateway: ConsoleGateway = { open: () => ({ ticket: 't', expiresInMs: 1000 }) };
const call: CallContext = { peer: { connectionId: 'test' }, signal: new AbortController().signal };

let guest: TestGuest;
let home: TempHome;
let manager: VmManager;
let service: ReturnType<typeof createVmService>;
const events: VmManagerEvent[] = [];

beforeAll(async () => {
  guest = await ensureTestGuest();
  home = await createTempHome('vd-snapapi-');
  manager = await VmManager.open({
    home: home.home,
    env: home.env,
    workers: forkWorkerFactory({ execArgv: ['--import', 'tsx'] }),
    supervisorEntry: SUPERVISOR,
    statsIntervalMs: 0,
    pollIntervalMs: 300,
    onEvent: (event) => events.push(event),
    log: () => {},
  });
  service = createVmService({ manager, consoles: gateway });
});
afterAll(async () => {
  await manager?.close();
  await killProcessesUnder(home.home);
  await home?.cleanup();
});

async function failure(promise: unknown): Promise<EngineError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof EngineError) return error;
    throw error;
  }
  throw new Error('expected a failure');
}

async function startAndWait(id: string): Promise<void> {
  const serialLog = (await manager.get(id)).runtime.serialLog;
  const offset = await fileSize(serialLog);
  await service.start({ id }, call);
  await waitForSerial(serialLog, READY_LINE, 120_000, offset);
}

describe('vms service: snapshots, save/restore, templates and clones', () => {
  it('snapshots a running VM with progress, lists it with its thumbnail, and reverts only when confirmed', async () => {
    const created = await service.create({ input: vmCreateInputSchema.parse(await guestVmInput(guest, home.home, 'api')) }, call);
    const id = created.definition.id;
    await startAndWait(id);
    const snapshot = await service.createSnapshot({ id, name: 'one', description: 'first', kind: undefined }, call);
    expect(snapshot).toMatchObject({ name: 'one', description: 'first', kind: 'with-memory', vmState: 'running', current: true, hasThumbnail: true });
    expect(events).toContainEqual(expect.objectContaining({ type: 'vm.progress', id, operation: 'snapshot', fraction: 1 }));
    expect((await service.listSnapshots({ id }, call)).map((s) => s.name)).toEqual(['one']);
    const thumbnail = await service.snapshotThumbnail({ id, snapshot: 'one' }, call);
    expect(decodePng(Buffer.from(thumbnail.pngBase64!, 'base64')).width).toBeGreaterThan(100);

    const unconfirmed = await failure(service.revertSnapshot({ id, snapshot: 'one', discardCurrentState: false, start: false }, call));
    expect(unconfirmed.code).toBe('invalid-argument');
    expect(unconfirmed.details).toMatchObject({ needsConfirmation: true });
    const reverted = await service.revertSnapshot({ id, snapshot: 'one', discardCurrentState: true, start: false }, call);
    expect(reverted.mode).toBe('in-place');
    expect((await service.get({ id }, call)).runtime.state).toBe('running');

    const duplicate = await failure(service.createSnapshot({ id, name: 'one', description: '' }, call));
    expect(duplicate.code).toBe('already-exists');
    // Deleted through the running QEMU (snapshot-delete job): gone from the image too.
    expect((await service.deleteSnapshot({ id, snapshot: 'one' }, call)).notes).toEqual([]);
    expect(await service.listSnapshots({ id }, call)).toEqual([]);
    expect((await imageInfo(created.definition.disks![0]!.source)).snapshots).toEqual([]);
  });

  it('saves through the manager: the list says "saved", start restores, and the supervisor follows', async () => {
    const id = (await manager.get('api')).definition.id;
    const saved = await service.save({ id }, call);
    expect(saved.sizeBytes).toBeGreaterThan(1024 * 1024);
    expect(events).toContainEqual(expect.objectContaining({ type: 'vm.progress', id, operation: 'save' }));
    const entry = (await service.list({}, call)).find((vm) => vm.id === id)!;
    expect(entry.state).toBe('stopped');
    expect(entry.savedAt).toEqual(expect.any(String));
    expect(entry.stateReason).toMatch(/^saved at .*; starting it resumes the guest where it was$/);
    expect((await service.get({ id }, call)).runtime.savedAt).toBe(entry.savedAt);

    await service.start({ id }, call);
    await waitFor('the supervisor on the restored QEMU', () => manager.isWatched(id), 30_000);
    const runtime = (await service.get({ id }, call)).runtime;
    expect(runtime).toMatchObject({ state: 'running', savedAt: null });
  });

  it('applies the quit preference: save leaves every running VM saved', async () => {
    const outcome = await applyQuitPreference(manager, 'save');
    expect(outcome).toEqual({ saved: ['api'], shutDown: [], failed: [] });
    expect((await service.list({}, call)).find((vm) => vm.name === 'api')).toMatchObject({ state: 'stopped', savedAt: expect.any(String) });
    expect(await applyQuitPreference(manager, 'keep-running')).toEqual({ saved: [], shutDown: [], failed: [] });
    await service.restore({ id: 'api', discard: true }, call);
    expect((await service.get({ id: 'api' }, call)).runtime.savedAt).toBeNull();
  });

  it('templates refuse start and edits; a linked clone comes back as a VM; unmark waits for its clones', async () => {
    const id = (await manager.get('api')).definition.id;
    const marked = await service.setTemplate({ id, template: true }, call);
    expect(marked.runtime.template).toBe(true);
    expect((await failure(service.start({ id }, call))).message).toContain('it is a template');
    expect((await failure(service.update({ id, patch: { description: 'x' } }, call))).message).toContain('Cannot edit VM "api": it is a template');

    const clone = await service.clone({ id, name: 'api-clone', linked: true }, call);
    expect(clone.vm.definition.name).toBe('api-clone');
    expect(clone.vm.definition.nics?.[0]?.mac).not.toBe(marked.definition.nics?.[0]?.mac);
    expect(clone.vm.runtime).toMatchObject({ state: 'stopped', template: false });
    expect((await failure(service.clone({ id, name: 'api-clone', linked: true }, call))).code).toBe('already-exists');
    expect((await failure(service.setTemplate({ id, template: false }, call))).code).toBe('conflict');

    await startAndWait(clone.vm.definition.id);
    const shutDown = await applyQuitPreference(manager, 'shut-down', { stopTimeoutMs: 60_000 });
    expect(shutDown).toEqual({ saved: [], shutDown: ['api-clone'], failed: [] });
    expect((await service.get({ id: clone.vm.definition.id }, call)).runtime.state).toBe('stopped');
  });
});
