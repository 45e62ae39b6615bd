// vms.create's engine path: new images named by one rule, and nothing left behind when a later
// step fails. Real qemu-img, a real store in a temp home.
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EngineError } from '../../../engine/model';
import { createVm, previewVm, volumeNameFor } from '../../../engine/vm/ops/create-vm';
import { VmRegistry } from '../../../engine/vm/definitions/registry';
import { createTempHome, type TempHome } from '../../support/leaks';

let home: TempHome;
let registry: VmRegistry;
const images = () => join(home.home, 'images');
const MIB = 1024 * 1024;

beforeEach(async () => {
  home = await createTempHome('vd-create-vm-');
  registry = new VmRegistry(home.home, home.env);
});
afterEach(async () => {
  await home.cleanup();
});

describe('volumeNameFor', () => {
  it('takes the VM name and format, then the first free numbered name', () => {
    expect(volumeNameFor('web', 'qcow2', new Set())).toBe('web.qcow2');
    expect(volumeNameFor('web', 'raw', new Set(['web.qcow2']))).toBe('web.raw');
    expect(volumeNameFor('web', 'qcow2', new Set(['web.qcow2', 'web-2.qcow2']))).toBe('web-3.qcow2');
  });
});

describe('createVm', () => {
  it('creates the images a definition asks for, in order, beside files already in the pool', async () => {
    await mkdir(images(), { recursive: true });
    await writeFile(join(images(), 'web.qcow2'), 'someone else’s');
    const def = await createVm(registry, { name: 'web', nics: [], disks: [{ create: { sizeBytes: 16 * MIB } }, { create: { sizeBytes: 8 * MIB, format: 'raw' } }] });
    expect(def.disks.map((disk) => [disk.source, disk.format])).toEqual([
      [join(images(), 'web-2.qcow2'), 'qcow2'],
      [join(images(), 'web.raw'), 'raw'],
    ]);
    expect((await readdir(images())).sort()).toEqual(['web-2.qcow2', 'web.qcow2', 'web.raw']);
  });

  it('previews the same paths without creating anything', async () => {
    const def = await previewVm(registry, { nics: [], disks: [{ create: { sizeBytes: 16 * MIB } }] });
    expect(def.name).toBe('new-vm');
    expect(def.disks[0]!.source).toBe(join(images(), 'new-vm.qcow2'));
    expect(await readdir(images()).catch(() => [])).toEqual([]);
    expect(await registry.definitions()).toEqual([]);
  });

  it('removes the image it created when storing the definition fails', async () => {
    // A file where the VM's folder goes: the definition cannot be written once the image is made.
    const id = '0b5f0f5e-8c1e-4c8e-9d8e-3a1f6d1c2b3a';
    await mkdir(join(home.home, 'vms'), { recursive: true });
    await writeFile(join(home.home, 'vms', id), 'not a folder');
    const failed = await createVm(registry, { id, name: 'doomed', nics: [], disks: [{ create: { sizeBytes: 16 * MIB } }] }).catch((error: unknown) => error);
    expect(failed).toBeInstanceOf(Error);
    expect(await readdir(images())).toEqual([]);
    await rm(join(home.home, 'vms', id));
    expect(await registry.definitions()).toEqual([]);
  });

  it('creates no image for a definition it refuses, and names the field', async () => {
    const failed = await createVm(registry, { name: 'no-iso', nics: [], cdroms: [{ media: join(home.home, 'missing.iso') }], disks: [{ create: { sizeBytes: 16 * MIB } }] }).catch(
      (error: unknown) => error,
    );
    expect(failed).toBeInstanceOf(EngineError);
    expect((failed as EngineError).problems.map((p) => p.field)).toEqual(['cdroms[0].media']);
    expect(await readdir(images()).catch(() => [])).toEqual([]);
  });

  it('refuses a disk that is both an existing image and one to create, naming it', async () => {
    const failed = await createVm(registry, { name: 'both', nics: [], disks: [{ source: '/x.img', create: { sizeBytes: MIB } }] }).catch((error: unknown) => error);
    expect((failed as EngineError).problems.map((p) => p.field)).toEqual(['disks[0]']);
  });
});
