import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliIo } from '../../../engine/cli/command';
import { runCli } from '../../../engine/cli/run-cli';
import { vmCommands } from '../../../engine/cli/vm-commands';
import { createTempHome, type TempHome } from '../../support/leaks';

let home: TempHome;
beforeAll(async () => {
  home = await createTempHome('vd-cli-create-');
  await mkdir(join(home.home, 'files'));
  await writeFile(join(home.home, 'files', 'vmlinuz'), 'kernel');
  await writeFile(join(home.home, 'files', 'initrd.img'), 'initrd');
});
afterAll(async () => {
  await home.cleanup();
});

async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), env: home.env };
  const code = await runCli(argv, vmCommands, io);
  return { code, stdout, stderr };
}

describe('virtdesk vm create / list / show / delete', () => {
  it('creates a VM with the model defaults and shows it', async () => {
    const created = await cli('vm', 'create', 'alpha', '--memory', '256', '--cpus', '2', '--net', 'user', '--port-forward', 'tcp:18081:80', '--accel', 'tcg', '--json');
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    const def = JSON.parse(created.stdout);
    expect(def.name).toBe('alpha');
    expect(def.memory.maximumMiB).toBe(256);
    expect(def.cpu.vcpus).toBe(2);
    expect(def.accelerator).toBe('tcg');
    expect(def.nics[0].mac).toMatch(/^52:54:00:/);
    expect(def.nics[0].network.portForwards).toEqual([{ protocol: 'tcp', hostAddress: '127.0.0.1', hostPort: 18081, guestPort: 80 }]);

    const listed = await cli('vm', 'list', '--json');
    expect(JSON.parse(listed.stdout)).toEqual([expect.objectContaining({ name: 'alpha', state: 'stopped', vcpus: 2, memoryMiB: 256, pid: null })]);
    const shown = await cli('vm', 'show', 'alpha');
    expect(shown.stdout).toMatch(/State\s+stopped/);
    expect(shown.stdout).toContain('tcp:127.0.0.1:18081->80');
  });

  it('creates a direct-kernel VM with a new qcow2 disk in the default pool, and deletes it with its storage', async () => {
    const files = join(home.home, 'files');
    const created = await cli('vm', 'create', 'beta', '--disk', '64M', '--kernel', join(files, 'vmlinuz'), '--initrd', join(files, 'initrd.img'), '--append', 'console=ttyS0', '--net', 'none', '--json');
    expect(created.stderr).toBe('');
    const def = JSON.parse(created.stdout);
    expect(def.disks[0].source).toBe(join(home.home, 'images', 'beta.qcow2'));
    expect(def.directKernel).toEqual({ kernel: join(files, 'vmlinuz'), initrd: join(files, 'initrd.img'), cmdline: 'console=ttyS0' });
    expect(def.nics).toEqual([]);
    const deleted = await cli('vm', 'delete', 'beta', '--with-storage');
    expect(deleted.code).toBe(0);
    expect(deleted.stdout).toContain(`removed ${join(home.home, 'images', 'beta.qcow2')}`);
    expect((await cli('vm', 'show', 'beta')).stderr).toMatch(/No VM "beta"/);
  });

  it('refuses a duplicate name and keeps the first VM', async () => {
    const again = await cli('vm', 'create', 'alpha');
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/A VM named "alpha" already exists/);
    expect(JSON.parse((await cli('vm', 'list', '--json')).stdout).filter((vm: { name: string }) => vm.name === 'alpha')).toHaveLength(1);
  });

  it.each([
    [['bad name'], /VM name "bad name" may only contain letters, digits/],
    [['-x'], /unknown option|must not start/i],
    [['x'.repeat(65)], /at most 64 are allowed/],
  ])('refuses the invalid name %j', async (args, message) => {
    const result = await cli('vm', 'create', ...args);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(message);
  });

  it('refuses memory 0, memory beyond the host and too many vCPUs', async () => {
    const zero = await cli('vm', 'create', 'm0', '--memory', '0');
    expect(zero.code).toBe(1);
    expect(zero.stderr).toMatch(/memory must be at least 16 MiB/);
    const huge = await cli('vm', 'create', 'm1', '--memory', String(8 * 1024 * 1024));
    expect(huge.code).toBe(1);
    expect(huge.stderr).toMatch(/MiB of memory is more than this host can give a VM/);
    const cpus = await cli('vm', 'create', 'c1', '--cpus', '300');
    expect(cpus.code).toBe(1);
    expect(cpus.stderr).toMatch(/vcpus must be at most 255/);
    const word = await cli('vm', 'create', 'c2', '--memory', 'lots');
    expect(word.stderr).toMatch(/Memory must be a whole number/);
    expect(JSON.parse((await cli('vm', 'list', '--json')).stdout).map((vm: { name: string }) => vm.name)).toEqual(['alpha']);
  });

  it('refuses a kernel, initrd, ISO or disk that does not exist, naming it', async () => {
    const files = join(home.home, 'files');
    const kernel = await cli('vm', 'create', 'k1', '--kernel', join(files, 'nope'));
    expect(kernel.stderr).toContain(`The kernel ${join(files, 'nope')} does not exist.`);
    const initrd = await cli('vm', 'create', 'k2', '--kernel', join(files, 'vmlinuz'), '--initrd', join(files, 'nope.img'));
    expect(initrd.stderr).toContain(`The initrd ${join(files, 'nope.img')} does not exist.`);
    const iso = await cli('vm', 'create', 'k3', '--cdrom', join(files, 'missing.iso'));
    expect(iso.stderr).toContain(`The ISO in CD-ROM cdrom0 ${join(files, 'missing.iso')} does not exist.`);
    const disk = await cli('vm', 'create', 'k4', '--disk', join(files, 'missing.qcow2'));
    expect(disk.stderr).toContain(`Disk disk0 ${join(files, 'missing.qcow2')} does not exist.`);
    const folder = await cli('vm', 'create', 'k5', '--disk', files);
    expect(folder.stderr).toContain('is a folder, not a file');
    const usage = await cli('vm', 'create', 'k6', '--initrd', join(files, 'initrd.img'));
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('--initrd and --append need --kernel');
    expect(JSON.parse((await cli('vm', 'list', '--json')).stdout).map((vm: { name: string }) => vm.name)).toEqual(['alpha']);
  });

  it('refuses to stop, pause or screenshot a stopped VM, and to start a missing one', async () => {
    const stop = await cli('vm', 'stop', 'alpha');
    expect(stop.code).toBe(1);
    expect(stop.stderr).toContain('Cannot stop VM "alpha": it is stopped.');
    expect((await cli('vm', 'pause', 'alpha')).stderr).toContain('Cannot pause VM "alpha": it is stopped.');
    expect((await cli('vm', 'screenshot', 'alpha', join(home.home, 'x.png'))).stderr).toContain('it is stopped');
    const missing = await cli('vm', 'start', 'ghost');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/No VM "ghost"/);
  });

  it('says how to install QEMU when it is missing', async () => {
    let stderr = '';
    const io: CliIo = { stdout: () => {}, stderr: (t) => void (stderr += t), env: { ...home.env, VIRTDESK_QEMU: undefined, PATH: '/nonexistent' } };
    const code = await runCli(['vm', 'start', 'alpha'], vmCommands, io);
    expect(code).toBe(1);
    expect(stderr).toContain('QEMU is not installed');
    expect(stderr).toMatch(/apt install qemu-system-x86/);
  });
});
