// The allowed-folders module (issue 18 item 5): which folders a limited session may name files
// in, how paths are resolved, what may be added, and the content rule of a volume delete.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EngineError } from '../../../engine/api/errors';
import { folderCommands } from '../../../engine/cli/folder-commands';
import { rootSessionWarning } from '../../../engine/host/root-warning';
import { addedHostPaths, hostPathsOf } from '../../../engine/model/host-paths';
import { createEventBus } from '../../../engine/api/events';
import { createPreferencesService } from '../../../engine/preferences/preferences-service';
import { AllowedFolders, isLimitedPeer } from '../../../engine/storage/access/allowed-folders';
import { systemFolderProblem } from '../../../engine/storage/access/system-folders';
import { PoolRegistry } from '../../../engine/storage/pools/pool-registry';
import { notAnImageReason } from '../../../engine/storage/volumes/deletable';

const run = promisify(execFile);
let dir: string;
let home: string;
let userHome: string;
let folders: AllowedFolders;

async function denial(promise: Promise<unknown>): Promise<EngineError> {
  const error = await promise.then(
    (value) => {
      throw new Error(`allowed: ${JSON.stringify(value)}`);
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(EngineError);
  return error as EngineError;
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vd-allowed-'));
  home = join(dir, 'virtdesk');
  userHome = join(dir, 'alice');
  await mkdir(join(home, 'images'), { recursive: true });
  await mkdir(join(userHome, '.ssh'), { recursive: true });
  await mkdir(join(userHome, 'vms'), { recursive: true });
  await mkdir(join(dir, 'elsewhere'), { recursive: true });
  folders = new AllowedFolders({ home, env: { HOME: userHome } });
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('allowed folders', () => {
  it('lists pools, the ISO library, the home folder and folders added on purpose', async () => {
    await new PoolRegistry(home).add('fast', join(dir, 'elsewhere'));
    const list = await folders.list();
    expect(list.map((f) => [f.source, f.path])).toEqual([
      ['pool', join(home, 'images')],
      ['pool', join(dir, 'elsewhere')],
      ['iso-library', join(home, 'isos')],
      ['home', userHome],
    ]);
    expect(list.every((f) => !f.removable)).toBe(true);
  });

  it('resolves paths inside them, including files that do not exist yet', async () => {
    expect(await folders.resolve(join(home, 'images', 'new.qcow2'), 'disk')).toBe(join(home, 'images', 'new.qcow2'));
    expect(await folders.resolve(join(userHome, 'vms', 'a.img'), 'disk')).toBe(join(userHome, 'vms', 'a.img'));
    expect(await folders.isAllowed(join(dir, 'elsewhere', 'x.img'))).toBe(false);
  });

  it('leaves out the home folder\'s hidden folders, and sees through symlinks and ..', async () => {
    const ssh = await denial(folders.resolve(join(userHome, '.ssh', 'id_ed25519'), 'CD-ROM media'));
    expect(ssh.code).toBe('permission-denied');
    expect(ssh.message).toBe(`The CD-ROM media ${join(userHome, '.ssh', 'id_ed25519')} is outside the folders this session may use.`);
    expect(ssh.hint).toContain(`${userHome} (not its hidden folders)`);
    await symlink(join(dir, 'elsewhere'), join(home, 'images', 'escape'));
    expect((await denial(folders.resolve(join(home, 'images', 'escape', 'x.img'), 'disk'))).message).toContain(`(really ${join(dir, 'elsewhere', 'x.img')})`);
    expect((await denial(folders.resolve(`${home}/images/../../elsewhere/x.img`, 'disk'))).code).toBe('permission-denied');
    expect((await denial(folders.resolve('images/x.img', 'disk'))).code).toBe('invalid-argument');
  });

  it('adds and removes folders on purpose in preferences.json, keeping the other preferences', async () => {
    const preferences = createPreferencesService({ home, bus: createEventBus() });
    const context = { signal: new AbortController().signal, peer: { connectionId: 'test' } };
    await preferences.set({ changes: { confirmDelete: false } }, context);
    const added = await folders.add(join(dir, 'elsewhere'));
    expect(added).toEqual({ path: join(dir, 'elsewhere'), source: 'added', label: join(dir, 'elsewhere'), removable: true });
    expect(await folders.isAllowed(join(dir, 'elsewhere', 'x.img'))).toBe(true);
    const file = JSON.parse(await readFile(join(home, 'preferences.json'), 'utf8')) as Record<string, unknown>;
    expect(file).toMatchObject({ confirmDelete: false, allowedFolders: [join(dir, 'elsewhere')] });
    // preferences.set cannot widen the list (its schema has no such field) and keeps it.
    await preferences.set({ changes: { allowedFolders: ['/'] } as never }, context);
    expect(JSON.parse(await readFile(join(home, 'preferences.json'), 'utf8')).allowedFolders).toEqual([join(dir, 'elsewhere')]);
    expect(await folders.remove(join(dir, 'elsewhere'))).toBe(true);
    expect(await folders.remove(join(dir, 'elsewhere'))).toBe(false);
    expect(await folders.isAllowed(join(dir, 'elsewhere', 'x.img'))).toBe(false);
  });

  it('refuses system folders and missing folders', async () => {
    for (const path of ['/', '/etc', '/usr/lib', '/proc', '/var/lib', '/var/lib/dpkg', '/home']) {
      expect((await denial(folders.add(path))).message, path).toMatch(/cannot be allowed: .*system folder|another program's data/);
    }
    expect((await denial(folders.add(join(dir, 'missing')))).code).toBe('not-found');
  });

  it('limits browser sessions and the app\'s renderer, not local callers', () => {
    expect(isLimitedPeer({ connectionId: 'ws-1', session: 's', kind: 'browser' })).toBe(true);
    expect(isLimitedPeer({ connectionId: 'window-1', kind: 'app' })).toBe(true);
    expect(isLimitedPeer({ connectionId: 'cli', kind: 'local' })).toBe(false);
    expect(isLimitedPeer({ connectionId: 'memory' })).toBe(false);
  });
});

describe('system folders', () => {
  it('refuses the system and its data, allows folders meant for images', () => {
    expect(systemFolderProblem('/')).toBe('/ is a system folder (a folder inside it can be a pool)');
    expect(systemFolderProblem('/etc')).toBe('/etc is a system folder');
    expect(systemFolderProblem('/usr/share/images')).toBe('/usr/share/images is inside the system folder /usr');
    expect(systemFolderProblem('/boot')).toBeDefined();
    expect(systemFolderProblem('/dev/shm')).toBeDefined();
    expect(systemFolderProblem('/var/lib/mysql')).toBe("/var/lib/mysql belongs to another program's data in /var/lib");
    expect(systemFolderProblem('/var/lib/libvirt/images')).toBeUndefined();
    expect(systemFolderProblem('/home/alice/vms')).toBeUndefined();
    expect(systemFolderProblem('/srv/images')).toBeUndefined();
    expect(systemFolderProblem('/etcetera')).toBeUndefined();
  });

  it('a pool may not be one (the audit made / and /etc pools)', async () => {
    const pools = new PoolRegistry(home);
    await expect(pools.add('root', '/')).rejects.toThrow('/ cannot be a storage pool: / is a system folder (a folder inside it can be a pool).');
    await expect(pools.add('etc', '/etc')).rejects.toThrow(/\/etc cannot be a storage pool/);
    await symlink('/etc', join(dir, 'etc-link'));
    await expect(pools.add('etc', join(dir, 'etc-link'))).rejects.toThrow(`${join(dir, 'etc-link')} (/etc) cannot be a storage pool`);
  });
});

describe('a volume delete removes only disk images and ISOs, judged by content', () => {
  it('tells images from other files', async () => {
    const file = (name: string) => join(dir, 'elsewhere', name);
    await writeFile(file('important.txt'), 'x'.repeat(4096));
    expect(await notAnImageReason(file('important.txt'), 'raw')).toMatch(/no image format, partition table, file system or ISO 9660 header/);
    await writeFile(file('named.iso'), 'not an iso at all');
    expect(await notAnImageReason(file('named.iso'), 'raw')).toBeDefined();
    await run('qemu-img', ['create', '-q', '-f', 'raw', file('blank.img'), '4M']);
    expect(await notAnImageReason(file('blank.img'), 'raw')).toBeUndefined();
    expect(await notAnImageReason(file('anything'), 'qcow2')).toBeUndefined();
    const luks = Buffer.alloc(4096);
    luks.write('LUKS\xba\xbe', 0, 'latin1');
    await writeFile(file('luks.img'), luks);
    expect(await notAnImageReason(file('luks.img'), 'raw')).toBeUndefined();
    await writeFile(file('broken.qcow2'), Buffer.concat([Buffer.from('QFI\xfb', 'latin1'), Buffer.alloc(100)]));
    expect(await notAnImageReason(file('broken.qcow2'), 'unknown')).toBeUndefined();
    expect(await notAnImageReason(file('important.txt'), 'unknown')).toBe('qemu-img cannot read it as an image');
  });
});

describe('host paths of a definition', () => {
  it('finds disks, CD-ROM media, kernel and initrd, also in partial input', () => {
    const def = { disks: [{ source: '/a.qcow2' }, { create: { pool: 'default' } }], cdroms: [{ media: null }, { media: '/b.iso' }], directKernel: { kernel: '/k', initrd: '/i' } };
    expect(hostPathsOf(def)).toEqual([
      { field: 'disks[0].source', path: '/a.qcow2' },
      { field: 'cdroms[1].media', path: '/b.iso' },
      { field: 'directKernel.kernel', path: '/k' },
      { field: 'directKernel.initrd', path: '/i' },
    ]);
    expect(hostPathsOf('nonsense')).toEqual([]);
    expect(addedHostPaths(def, { ...def, cdroms: [{ media: '/etc/shadow' }] })).toEqual([{ field: 'cdroms[0].media', path: '/etc/shadow' }]);
  });
});

describe('the root warning', () => {
  it('is given by serve as root only', () => {
    expect(rootSessionWarning('serve', 0)).toMatch(/every signed-in browser session acts as root/);
    expect(rootSessionWarning('serve', 1000)).toBeNull();
    expect(rootSessionWarning('electron', 0)).toBeNull();
  });
});

describe('virtdesk folder', () => {
  it('lists, allows and disallows', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const io = { stdout: (t: string) => out.push(t), stderr: (t: string) => err.push(t), env: { VIRTDESK_HOME: home, HOME: userHome } };
    const command = (name: string) => folderCommands.find((c) => c.path[1] === name)!;
    expect(await command('allow').run([join(dir, 'elsewhere')], io)).toBe(0);
    expect(out.pop()).toBe(`Browser sessions may now name files in ${join(dir, 'elsewhere')}.\n`);
    expect(await command('list').run([], io)).toBe(0);
    expect(out.pop()).toMatch(new RegExp(`${join(dir, 'elsewhere')}\\s+allowed on purpose\\n$`));
    await expect(command('allow').run(['/etc'], io)).rejects.toThrow(/\/etc cannot be allowed/);
    expect(await command('disallow').run([join(dir, 'elsewhere')], io)).toBe(0);
    expect(await command('disallow').run([join(dir, 'elsewhere')], io)).toBe(1);
    expect(err.pop()).toMatch(/was not allowed on purpose/);
  });
});
