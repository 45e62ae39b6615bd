import { execFile } from 'node:child_process';
import { access, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { VmRegistry } from '../../engine/vm/definitions/registry';

const run = promisify(execFile);
let home: string;
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'vd-regdel-'));
});
afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

describe('deleting a VM with its storage', () => {
  it('keeps a disk that is the base image of another VM’s linked clone, and says why', async () => {
    const base = join(home, 'base.qcow2');
    const overlay = join(home, 'overlay.qcow2');
    const own = join(home, 'own.qcow2');
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', base, '16M']);
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', base, '-F', 'qcow2', overlay]);
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', own, '16M']);
    const env = { ...process.env, VIRTDESK_HOME: home };
    const registry = new VmRegistry(home, env);
    await registry.create({ name: 'base-vm', memory: { maximumMiB: 128 }, disks: [{ source: base }, { source: own }], nics: [] });
    await registry.create({ name: 'clone-vm', memory: { maximumMiB: 128 }, disks: [{ source: overlay }], nics: [] });

    const outcome = await registry.delete('base-vm', { withStorage: true });

    expect(outcome.deletedFiles).toEqual([own]);
    expect(outcome.keptFiles).toEqual([{ path: base, why: expect.stringContaining('base image of linked clone(s) in VM "clone-vm"') }]);
    await expect(access(base)).resolves.toBeUndefined();
    await expect(access(own)).rejects.toThrow();
  });
});
