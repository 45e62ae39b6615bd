import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, statfs, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EngineError } from '../../engine/api/errors';
import { createImage, imageInfo } from '../../engine/storage/qemu-img';
import { StorageService } from '../../engine/storage/storage-service';
import type { VolumeUser } from '../../engine/storage/usage';
import type { Volume } from '../../engine/storage/volumes/types';
import { zeroRefcounts } from '../fixtures/storage/corrupt-qcow2';

const MiB = 2 ** 20;
let root: string;
let home: string;
let outside: string;
const users = new Map<string, VolumeUser[]>();
let storage: StorageService;

async function rejection(promise: Promise<unknown>): Promise<EngineError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof EngineError) return error;
    throw error;
  }
  throw new Error('expected the promise to reject');
}

async function sha(path: string): Promise<string> {
  return createHash('sha256').update(await readFile(path)).digest('hex');
}

async function poolFiles(): Promise<string[]> {
  return (await readdir(join(home, 'images'))).sort();
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'virtdesk-pools-'));
  home = join(root, 'home');
  outside = join(root, 'outside');
  await mkdir(outside, { recursive: true });
  storage = new StorageService({ home, usage: async (path) => users.get(path) ?? [] });
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('pools', () => {
  it('has a default pool in VIRTDESK_HOME/images and persists added folders', async () => {
    const { pools } = await storage.listPools();
    expect(pools).toEqual([expect.objectContaining({ name: 'default', path: join(home, 'images'), builtIn: true, available: true })]);
    expect(pools[0]?.freeBytes).toBeGreaterThan(0);
    const extra = join(root, 'extra');
    await mkdir(extra);
    await storage.addPool('extra', extra);
    const again = new StorageService({ home });
    expect((await again.listPools()).pools.map((p) => p.name)).toEqual(['default', 'extra']);
    expect((await rejection(storage.addPool('extra', outside))).code).toBe('already-exists');
    expect((await rejection(storage.addPool('other', extra))).code).toBe('already-exists');
    expect((await rejection(storage.addPool('nowhere', join(root, 'missing')))).code).toBe('not-found');
    expect((await rejection(storage.addPool('rel', 'relative/path'))).code).toBe('invalid-argument');
    expect((await rejection(storage.addPool('../bad', extra))).code).toBe('invalid-argument');
    expect((await rejection(storage.removePool('default'))).code).toBe('invalid-argument');
    await writeFile(join(extra, 'keep.raw'), Buffer.alloc(MiB));
    await storage.removePool('extra');
    expect((await storage.listPools()).pools.map((p) => p.name)).toEqual(['default']);
    expect(await readdir(extra)).toEqual(['keep.raw']);
    expect((await rejection(storage.listVolumes('extra'))).code).toBe('not-found');
  });
});

describe('volumes', () => {
  it('creates, lists with format/size/allocation/backing/users, and refuses bad names and sizes', async () => {
    const { volume, warnings } = await storage.createVolume({ pool: 'default', name: 'disk.qcow2', format: 'qcow2', sizeBytes: 64 * MiB });
    expect(warnings).toEqual([]);
    expect(volume).toMatchObject({ pool: 'default', name: 'disk.qcow2', format: 'qcow2', virtualSize: 64 * MiB, usedBy: [], baseOf: [] });
    expect(volume.allocation).toBeGreaterThan(0);
    await storage.createVolume({ pool: 'default', name: 'data.raw', format: 'raw', sizeBytes: 8 * MiB });
    const list = await storage.listVolumes('default');
    expect(list.map((v) => [v.name, v.format])).toEqual([['data.raw', 'raw'], ['disk.qcow2', 'qcow2']]);

    const before = await poolFiles();
    for (const name of ['../x.qcow2', '/tmp/abs.qcow2', 'nul\u0000.qcow2', 'a/b.qcow2']) {
      const error = await rejection(storage.createVolume({ pool: 'default', name, format: 'qcow2', sizeBytes: MiB }));
      expect(error.code).toBe('invalid-argument');
    }
    expect((await rejection(storage.createVolume({ pool: 'default', name: 'disk.qcow2', format: 'qcow2', sizeBytes: MiB }))).code).toBe('already-exists');
    expect(await poolFiles()).toEqual(before);
    expect(await readdir(root)).not.toContain('x.qcow2');
  });

  it('refuses a size beyond the free space unless a sparse overcommit is confirmed; never a preallocated one', async () => {
    const s = await statfs(join(home, 'images'));
    const tooBig = (Math.floor((s.bavail * s.bsize) / MiB) + 1024) * MiB;
    const refused = await rejection(storage.createVolume({ pool: 'default', name: 'huge.qcow2', format: 'qcow2', sizeBytes: tooBig }));
    expect(refused.code).toBe('resource-exhausted');
    expect(refused.hint).toMatch(/overcommit/);
    const prealloc = await rejection(storage.createVolume({ pool: 'default', name: 'huge.raw', format: 'raw', sizeBytes: tooBig, preallocation: 'full', allowOvercommit: true }));
    expect(prealloc.code).toBe('resource-exhausted');
    expect(prealloc.message).toMatch(/needs .* now/);
    expect(await poolFiles()).not.toContain('huge.raw');
    const { warnings } = await storage.createVolume({ pool: 'default', name: 'huge.qcow2', format: 'qcow2', sizeBytes: tooBig, allowOvercommit: true });
    expect(warnings[0]).toMatch(/guest will get I\/O errors/);
    await storage.deleteVolume({ pool: 'default', name: 'huge.qcow2' });
  });

  it('resizes (grow only for qcow2), refusing while a running VM uses it', async () => {
    const grown = await storage.resizeVolume({ pool: 'default', name: 'disk.qcow2', sizeBytes: 128 * MiB });
    expect(grown.previousSize).toBe(64 * MiB);
    expect(grown.volume.virtualSize).toBe(128 * MiB);
    expect((await rejection(storage.resizeVolume({ pool: 'default', name: 'disk.qcow2', sizeBytes: 32 * MiB, force: true }))).code).toBe('invalid-argument');
    const path = join(home, 'images', 'disk.qcow2');
    users.set(path, [{ vmId: 'v1', vmName: 'web', readOnly: false, running: true }]);
    const inUse = await rejection(storage.resizeVolume({ pool: 'default', name: 'disk.qcow2', sizeBytes: 256 * MiB }));
    expect(inUse.code).toBe('conflict');
    expect(inUse.message).toMatch(/in use by the running VM "web"/);
    const del = await rejection(storage.deleteVolume({ pool: 'default', name: 'disk.qcow2', force: true }));
    expect(del.code).toBe('conflict');
    expect((await imageInfo(path)).virtualSize).toBe(128 * MiB);
    expect((await storage.listVolumes('default')).find((v) => v.name === 'disk.qcow2')?.usedBy).toEqual([expect.objectContaining({ vmName: 'web', running: true })]);
    users.set(path, [{ vmId: 'v1', vmName: 'web', readOnly: false, running: false }]);
    const stopped = await rejection(storage.deleteVolume({ pool: 'default', name: 'disk.qcow2' }));
    expect(stopped.message).toMatch(/still uses it/);
    expect(stopped.hint).toMatch(/--force/);
    users.delete(path);
  });

  it('makes full and linked clones; the base of a linked clone cannot be deleted or resized', async () => {
    const progress: number[] = [];
    const full = await storage.cloneVolume({ pool: 'default', name: 'disk.qcow2', newName: 'full.qcow2', mode: 'full', onProgress: (e) => progress.push(e.percent) });
    expect(full.volume).toMatchObject({ format: 'qcow2', virtualSize: 128 * MiB });
    expect(full.volume.backingFile).toBeUndefined();
    expect(progress.at(-1)).toBe(100);
    const rawCopy = await storage.cloneVolume({ pool: 'default', name: 'disk.qcow2', newName: 'copy.raw', mode: 'full', format: 'raw' });
    expect(rawCopy.volume.format).toBe('raw');

    const linked = await storage.cloneVolume({ pool: 'default', name: 'disk.qcow2', newName: 'linked.qcow2', mode: 'linked' });
    const base = join(home, 'images', 'disk.qcow2');
    expect(linked.volume).toMatchObject({ format: 'qcow2', backingPath: base, backingFormat: 'qcow2', virtualSize: 128 * MiB });
    const list = await storage.listVolumes('default');
    expect(list.find((v) => v.name === 'disk.qcow2')?.baseOf).toEqual([join(home, 'images', 'linked.qcow2')]);
    const del = await rejection(storage.deleteVolume({ pool: 'default', name: 'disk.qcow2', force: true }));
    expect(del.code).toBe('conflict');
    expect(del.message).toMatch(/base image of the linked clone/);
    expect((await rejection(storage.resizeVolume({ pool: 'default', name: 'disk.qcow2', sizeBytes: 256 * MiB }))).code).toBe('conflict');
    await storage.deleteVolume({ pool: 'default', name: 'linked.qcow2' });
    await storage.deleteVolume({ pool: 'default', name: 'copy.raw' });
  });

  it('imports by copy, move and reference; refuses non-images and format mismatches, losing nothing', async () => {
    const q = join(outside, 'vm.qcow2');
    await createImage(q, { format: 'qcow2', sizeBytes: 16 * MiB });
    const qHash = await sha(q);

    const mismatch = await rejection(storage.importVolume({ pool: 'default', source: q, mode: 'move', format: 'raw' }));
    expect(mismatch.code).toBe('invalid-argument');
    expect(mismatch.message).toMatch(/is a qcow2 image, not raw/);
    expect(await sha(q)).toBe(qHash);

    const text = join(outside, 'notes.txt');
    await writeFile(text, 'just some text\n');
    const notImage = await rejection(storage.importVolume({ pool: 'default', source: text, mode: 'copy' }));
    expect(notImage.message).toMatch(/does not look like a disk image/);
    const stillNot = await rejection(storage.importVolume({ pool: 'default', source: text, mode: 'copy', format: 'raw' }));
    expect(stillNot.message).toMatch(/not a whole number of 512-byte sectors/);
    const blank = join(outside, 'blank.img');
    await writeFile(blank, Buffer.alloc(MiB));
    expect((await rejection(storage.importVolume({ pool: 'default', source: blank, mode: 'copy' }))).code).toBe('invalid-argument');
    const blankImported = await storage.importVolume({ pool: 'default', source: blank, mode: 'copy', format: 'raw' });
    expect(blankImported.volume.format).toBe('raw');

    const copied = await storage.importVolume({ pool: 'default', source: q, mode: 'copy', name: 'copied.qcow2' });
    expect(copied.volume.format).toBe('qcow2');
    expect(await sha(q)).toBe(qHash);

    const referenced = await storage.importVolume({ pool: 'default', source: q, mode: 'reference', name: 'ref.qcow2' });
    expect(referenced.volume.referenceTo).toBe(q);
    const removed = await storage.deleteVolume({ pool: 'default', name: 'ref.qcow2' });
    expect(removed.keptFile).toBe(q);
    expect(await sha(q)).toBe(qHash);

    const moved = await storage.importVolume({ pool: 'default', source: q, mode: 'move' });
    expect(moved.volume.name).toBe('vm.qcow2');
    expect(await lstat(q).catch(() => undefined)).toBeUndefined();
    expect(await sha(join(home, 'images', 'vm.qcow2'))).toBe(qHash);

    const vmdk = join(outside, 'appliance.vmdk');
    await new Promise<void>((resolve, reject) => {
      spawn('qemu-img', ['create', '-q', '-f', 'vmdk', vmdk, '4M'], { stdio: 'ignore' }).on('exit', (c) => (c === 0 ? resolve() : reject(new Error(String(c)))));
    });
    const converted = await storage.importVolume({ pool: 'default', source: vmdk, mode: 'copy', name: 'appliance.qcow2' });
    expect(converted.volume).toMatchObject({ format: 'qcow2', virtualSize: 4 * MiB });
    expect(converted.warnings).toContain('The vmdk image was converted to qcow2.');

    expect((await rejection(storage.importVolume({ pool: 'default', source: join(outside, 'nope.qcow2'), mode: 'copy' }))).code).toBe('not-found');
    expect((await rejection(storage.importVolume({ pool: 'default', source: 'relative.qcow2', mode: 'copy' }))).code).toBe('invalid-argument');
    expect((await rejection(storage.importVolume({ pool: 'default', source: join(home, 'images', 'vm.qcow2'), mode: 'copy' }))).code).toBe('already-exists');
  });

  it('says what check found in a corrupt qcow2', async () => {
    const path = join(home, 'images', 'broken.qcow2');
    await createImage(path, { format: 'qcow2', sizeBytes: 16 * MiB });
    await new Promise<void>((resolve, reject) => {
      spawn('qemu-io', ['-f', 'qcow2', '-c', 'write -P 1 0 1M', path], { stdio: 'ignore' }).on('exit', (c) => (c === 0 ? resolve() : reject(new Error(String(c)))));
    });
    await zeroRefcounts(path);
    const result = await storage.checkVolume({ pool: 'default', name: 'broken.qcow2' });
    expect(result.clean).toBe(false);
    expect(result.summary).toMatch(/errors \(data may be corrupted\)/);
    expect(result.findings[0]).toMatch(/^ERROR/);
  });

  it('notices files that appear and disappear on disk', async () => {
    const seen: Volume[][] = [];
    const stop = await storage.watchPool('default', (volumes) => seen.push(volumes), { debounceMs: 50 });
    try {
      await createImage(join(home, 'images', 'dropped-in.qcow2'), { format: 'qcow2', sizeBytes: MiB });
      await expect.poll(() => seen.at(-1)?.some((v) => v.name === 'dropped-in.qcow2'), { timeout: 10_000 }).toBe(true);
      await rm(join(home, 'images', 'dropped-in.qcow2'));
      await expect.poll(() => seen.at(-1)?.some((v) => v.name === 'dropped-in.qcow2'), { timeout: 10_000 }).toBe(false);
    } finally {
      stop();
    }
  });
});
