// Contract tests of the storage service over the in-memory RPC transport: the real service
// (createStorageService) with real qemu-img and xorriso in a temp VIRTDESK_HOME.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defineContract } from '../../../engine/api/contract';
import { EngineError } from '../../../engine/api/errors';
import { createEventBus } from '../../../engine/api/events';
import { createRpcClient, type RpcClient } from '../../../engine/api/rpc-client';
import { serveRpc } from '../../../engine/api/rpc-server';
import { storageEvents, storageMethods } from '../../../engine/api/storage-api';
import { createMemoryTransportPair } from '../../../engine/api/transport';
import { createVmDefinition } from '../../../engine/model';
import { createStorageService } from '../../../engine/storage/storage-service';
import { vmUsageResolver } from '../../../engine/storage/vm-usage';
import { openVmStore } from '../../../engine/vm/definitions/store';
import { startFlakyServer } from '../../fixtures/storage/flaky-server';

const run = promisify(execFile);
const contract = defineContract({ services: { storage: storageMethods }, events: storageEvents });
const GiB = 1024 ** 3;

let home: string;
let client: RpcClient<typeof contract>;
let server: { close(): void };

beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'vd-storage-api-'));
  const bus = createEventBus<Record<string, unknown>>();
  const [serverSide, clientSide] = createMemoryTransportPair();
  server = serveRpc(contract, { storage: createStorageService({ home, bus, usage: vmUsageResolver(home) }) }, bus, serverSide);
  client = createRpcClient(contract, clientSide, { defaultTimeoutMs: 60_000 });
});

afterEach(async () => {
  client.close();
  server.close();
  await rm(home, { recursive: true, force: true });
});

async function rejection(promise: Promise<unknown>): Promise<EngineError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(EngineError);
  return error as EngineError;
}

describe('storage service over RPC', () => {
  it('lists the built-in default pool with its free space', async () => {
    const { pools, problems } = await client.api.storage.listPools({});
    expect(problems).toEqual([]);
    expect(pools).toHaveLength(1);
    expect(pools[0]).toMatchObject({ name: 'default', builtIn: true, available: true, path: join(home, 'images') });
    expect(pools[0]?.freeBytes).toBeGreaterThan(0);
  });

  it('adds and removes a pool, announcing each change', async () => {
    const folder = join(home, 'more-images');
    await mkdir(folder);
    const changes: unknown[] = [];
    client.on('storage.changed', (event) => changes.push(event));
    const pool = await client.api.storage.addPool({ name: 'more', path: folder });
    expect(pool).toMatchObject({ name: 'more', path: folder, builtIn: false });
    expect((await client.api.storage.listPools({})).pools.map((p) => p.name).sort()).toEqual(['default', 'more']);
    await client.api.storage.removePool({ name: 'more' });
    expect((await client.api.storage.listPools({})).pools.map((p) => p.name)).toEqual(['default']);
    await expect.poll(() => changes).toEqual([{ what: 'pools' }, { what: 'pools' }]);
  });

  it('creates, resizes, clones (with progress) and deletes volumes with real qemu-img', async () => {
    const created = await client.api.storage.createVolume({ pool: 'default', name: 'disk.qcow2', format: 'qcow2', sizeBytes: GiB });
    expect(created.volume).toMatchObject({ name: 'disk.qcow2', format: 'qcow2', virtualSize: GiB, usedBy: [], baseOf: [] });
    expect(created.volume.allocation).toBeLessThan(GiB);

    const resized = await client.api.storage.resizeVolume({ pool: 'default', name: 'disk.qcow2', sizeBytes: 2 * GiB });
    expect(resized.previousSize).toBe(GiB);
    expect(resized.volume.virtualSize).toBe(2 * GiB);

    const operationId = randomUUID();
    const progress: { done: number; total: number | null }[] = [];
    client.on('storage.progress', (event) => {
      if (event.operationId === operationId) progress.push({ done: event.done, total: event.total });
    });
    const full = await client.api.storage.cloneVolume({ pool: 'default', name: 'disk.qcow2', newName: 'copy.qcow2', mode: 'full', operationId });
    expect(full.volume).toMatchObject({ name: 'copy.qcow2', format: 'qcow2', virtualSize: 2 * GiB });
    expect(full.volume.backingFile).toBeUndefined();
    await expect.poll(() => progress.at(-1)).toEqual({ done: 100, total: 100 });

    const linked = await client.api.storage.cloneVolume({ pool: 'default', name: 'disk.qcow2', newName: 'overlay.qcow2', mode: 'linked' });
    expect(linked.volume.backingPath).toBe(join(home, 'images', 'disk.qcow2'));

    const volumes = await client.api.storage.listVolumes({ pool: 'default' });
    expect(volumes.map((v) => v.name).sort()).toEqual(['copy.qcow2', 'disk.qcow2', 'overlay.qcow2']);
    expect(volumes.find((v) => v.name === 'disk.qcow2')?.baseOf).toEqual([join(home, 'images', 'overlay.qcow2')]);

    // The engine's refusal arrives as a typed error with its message, not a stack trace.
    const refused = await rejection(client.api.storage.deleteVolume({ pool: 'default', name: 'disk.qcow2' }));
    expect(refused.code).toBe('conflict');
    expect(refused.message).toContain('disk.qcow2');

    for (const name of ['overlay.qcow2', 'copy.qcow2', 'disk.qcow2']) {
      expect((await client.api.storage.deleteVolume({ pool: 'default', name })).deleted).toBe(join(home, 'images', name));
    }
    expect(await readdir(join(home, 'images'))).toEqual([]);
  });

  it('says which VMs use a volume and refuses to delete it from under them', async () => {
    const { volume } = await client.api.storage.createVolume({ pool: 'default', name: 'used.qcow2', format: 'qcow2', sizeBytes: GiB });
    const def = createVmDefinition({ name: 'user-vm', disks: [{ source: volume.path, format: 'qcow2' }] });
    await openVmStore(home).create(def);
    const [listed] = await client.api.storage.listVolumes({ pool: 'default' });
    expect(listed?.usedBy).toEqual([{ vmId: def.id, vmName: 'user-vm', readOnly: false, running: false }]);
    const refused = await rejection(client.api.storage.deleteVolume({ pool: 'default', name: 'used.qcow2' }));
    expect(refused.code).toBe('conflict');
    expect(refused.message).toContain('user-vm');
    expect(refused.hint).toBeTruthy();
  });

  it('refuses malformed requests on the receiving side', async () => {
    const bad = await rejection(client.api.storage.createVolume({ pool: 'default', name: 'x.qcow2', format: 'vmdk' as 'qcow2', sizeBytes: GiB }));
    expect(bad.code).toBe('invalid-argument');
    expect(bad.message).toContain('format');
    const escape = await rejection(client.api.storage.createVolume({ pool: 'default', name: '../x.qcow2', format: 'qcow2', sizeBytes: GiB }));
    expect(escape.code).toBe('invalid-argument');
    expect(await readdir(home)).not.toContain('x.qcow2');
    const relative = await rejection(client.api.storage.addIso({ path: 'relative.iso' }));
    expect(relative.code).toBe('invalid-argument');
  });

  it('imports a file with progress and keeps the original on copy', async () => {
    const source = join(home, 'outside.qcow2');
    await run('qemu-img', ['create', '-f', 'qcow2', source, '64M']);
    const operationId = randomUUID();
    const seen: number[] = [];
    client.on('storage.progress', (event) => event.operationId === operationId && seen.push(event.done));
    const result = await client.api.storage.importVolume({ pool: 'default', source, mode: 'copy', name: 'imported.qcow2', operationId });
    expect(result.volume).toMatchObject({ name: 'imported.qcow2', format: 'qcow2', virtualSize: 64 * 1024 ** 2 });
    expect(await readdir(home)).toContain('outside.qcow2');
    await expect.poll(() => seen.at(-1)).toBe(100);
  });

  it('adds an ISO, detects its OS from the volume label, and removes it', async () => {
    const tree = join(home, 'tree');
    await mkdir(tree);
    await writeFile(join(tree, 'README.TXT'), 'hello\n');
    const iso = join(home, 'debian-11.6.0-amd64-netinst.iso');
    await run('xorriso', ['-as', 'mkisofs', '-quiet', '-V', 'Debian 11.6.0 amd64 n', '-o', iso, tree]);

    const detected = await client.api.storage.detectIso({ path: iso });
    expect(detected.label.volumeId).toBe('Debian 11.6.0 amd64 n');
    expect(detected.detection).toMatchObject({ osId: 'debian11', name: 'Debian 11' });

    const entry = await client.api.storage.addIso({ path: iso });
    expect(entry).toMatchObject({ name: 'debian-11.6.0-amd64-netinst.iso', path: iso, detection: { osId: 'debian11' } });
    const listed = await client.api.storage.listIsos({});
    expect(listed.isos.map((i) => [i.id, i.missing])).toEqual([[entry.id, false]]);
    expect((await client.api.storage.removeIso({ id: entry.id })).deletedFile).toBe(false);
    expect((await client.api.storage.listIsos({})).isos).toEqual([]);
    expect(await readdir(home)).toContain('debian-11.6.0-amd64-netinst.iso');
  });

  it('cancels a download when the call is aborted and leaves no partial file', async () => {
    const web = await startFlakyServer({ '/big.iso': { body: Buffer.alloc(4 * 1024 * 1024, 7), throttle: 16 * 1024 } });
    try {
      const controller = new AbortController();
      const operationId = randomUUID();
      client.on('storage.progress', (event) => {
        if (event.operationId === operationId && event.done > 0) controller.abort();
      });
      const error = await rejection(client.api.storage.downloadIso({ url: web.url('/big.iso'), operationId }, { signal: controller.signal }));
      expect(error.code).toBe('cancelled');
      // The engine side stops too: no finished or partial file stays behind.
      await expect.poll(async () => (await readdir(join(home, 'isos')).catch(() => [])).length, { timeout: 5000 }).toBe(0);
      expect((await client.api.storage.listIsos({})).isos).toEqual([]);
    } finally {
      await web.close();
    }
  });

  it('searches the osinfo OS list with recommended resources', async () => {
    const oses = await client.api.storage.listOses({ query: 'debian 11' });
    const debian = oses.find((os) => os.osId === 'debian11');
    expect(debian).toMatchObject({ name: 'Debian 11', vendor: 'Debian Project' });
    expect(debian?.recommended.memoryMiB).toBeGreaterThanOrEqual(512);
    expect(oses.every((os) => `${os.osId} ${os.name}`.toLowerCase().includes('debian'))).toBe(true);
    expect((await client.api.storage.listOses({ query: 'win', limit: 3 })).length).toBe(3);
    expect(await client.api.storage.listOses({ query: 'no-such-os-anywhere' })).toEqual([]);
  });
});
