import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliIo } from '../../engine/cli/command';
import { runCli } from '../../engine/cli/run-cli';
import { storageCommands } from '../../engine/cli/storage-commands';
import { createImage } from '../../engine/storage/qemu-img';

const run = promisify(execFile);
let dir: string;
let home: string;

async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return cliWith({}, ...argv);
}

async function cliWith(extraEnv: NodeJS.ProcessEnv, ...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), env: { ...process.env, VIRTDESK_HOME: home, ...extraEnv } };
  const code = await runCli(argv, storageCommands, io);
  return { code, stdout, stderr };
}

async function json<T>(...argv: string[]): Promise<T> {
  const result = await cli(...argv, '--json');
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as T;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'virtdesk-storage-cli-'));
  home = join(dir, 'home');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('virtdesk pool', () => {
  it('lists, adds and removes pools', async () => {
    expect((await json<{ pools: { name: string }[] }>('pool', 'list')).pools.map((p) => p.name)).toEqual(['default']);
    const folder = join(dir, 'fast');
    await mkdir(folder);
    expect(await json('pool', 'add', 'fast', folder)).toMatchObject({ name: 'fast', path: folder });
    expect((await cli('pool', 'list')).stdout).toMatch(/^fast\s+\S+.*\s+\/.*fast$/m);
    const removed = await cli('pool', 'remove', 'fast');
    expect(removed.stdout).toMatch(/files were left as they are/);
    const missing = await cli('pool', 'remove', 'fast');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no storage pool named "fast"/);
  });
});

describe('virtdesk image', () => {
  it('creates, lists, shows, resizes, clones, converts, checks and deletes', async () => {
    const created = await json<{ volume: { format: string; virtualSize: number } }>('image', 'create', 'disk.qcow2', '--size', '64M');
    expect(created.volume).toMatchObject({ format: 'qcow2', virtualSize: 64 * 2 ** 20 });
    expect((await cli('image', 'list')).stdout).toMatch(/^disk\.qcow2\s+qcow2\s+64 MiB/m);
    expect(await json('image', 'info', 'disk.qcow2')).toMatchObject({ volume: { name: 'disk.qcow2' }, info: { format: 'qcow2', chain: [expect.anything()] } });
    expect((await json<{ volume: { virtualSize: number } }>('image', 'resize', 'disk.qcow2', '+64M')).volume.virtualSize).toBe(128 * 2 ** 20);
    const linked = await cli('image', 'clone', 'disk.qcow2', 'vm1.qcow2', '--linked');
    expect(linked.code).toBe(0);
    expect(linked.stdout).toMatch(/linked clone .*vm1\.qcow2 on top of .*disk\.qcow2/);
    const converted = await cli('image', 'convert', 'disk.qcow2', 'disk.raw', '--format', 'raw');
    expect(converted.code).toBe(0);
    expect(converted.stderr).toMatch(/Converting 100%/);
    expect((await json<{ clean: boolean }>('image', 'check', 'disk.qcow2')).clean).toBe(true);
    const baseDelete = await cli('image', 'delete', 'disk.qcow2');
    expect(baseDelete.code).toBe(1);
    expect(baseDelete.stderr).toMatch(/base image of the linked clone/);
    expect((await cli('image', 'delete', 'vm1.qcow2')).code).toBe(0);
    expect((await cli('image', 'delete', 'disk.qcow2')).code).toBe(0);
    expect(await readdir(join(home, 'images'))).toEqual(['disk.raw']);
  });

  it('imports, and refuses a format mismatch and a file that is no image', async () => {
    const q = join(dir, 'outside.qcow2');
    await createImage(q, { format: 'qcow2', sizeBytes: 2 ** 20 });
    const mismatch = await cli('image', 'import', q, '--format', 'raw');
    expect(mismatch.code).toBe(1);
    expect(mismatch.stderr).toMatch(/is a qcow2 image, not raw/);
    const text = join(dir, 'notes.txt');
    await writeFile(text, 'hello');
    expect((await cli('image', 'import', text)).stderr).toMatch(/does not look like a disk image/);
    expect(await json('image', 'import', q, '--mode', 'reference')).toMatchObject({ volume: { name: 'outside.qcow2', referenceTo: q } });
    expect(await json('image', 'info', q)).toMatchObject({ info: { format: 'qcow2', virtualSize: 2 ** 20 } });
    const wrong = await cli('image', 'info', q, '--format', 'raw');
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/is a qcow2 image, not raw/);
  });

  it('answers bad input with exit code 2 (usage) or 1 (refused) and a message', async () => {
    const cases: [string[], number, RegExp][] = [
      [['image', 'create', '../escape.qcow2', '--size', '1G'], 1, /slash, so it would leave the pool/],
      [['image', 'create', '/abs.qcow2', '--size', '1G'], 1, /is a path, not a name/],
      [['image', 'create', 'nul\u0000.qcow2', '--size', '1G'], 1, /NUL byte/],
      [['image', 'create', 'x.qcow2', '--size', '0'], 1, /greater than zero/],
      [['image', 'create', 'x.qcow2', '--size=-5G'], 1, /cannot be negative/],
      [['image', 'create', 'x.qcow2', '--size', '12Q'], 1, /"Q" is not a unit/],
      [['image', 'create', 'x.qcow2', '--size', '5000T'], 1, /Not enough free space/],
      [['image', 'create', 'x.qcow2'], 2, /--size is required/],
      [['image', 'create', 'x.qcow2', '--size', '1G', '--format', 'vmdk'], 2, /--format must be one of qcow2, raw/],
      [['image', 'create', 'x.qcow2', '--size', '1G', '--bogus'], 2, /Unknown option/],
      [['image', 'resize', 'nope.qcow2', '2G'], 1, /no image "nope.qcow2"/],
      [['image', 'convert', 'a', 'b'], 2, /--format is required/],
    ];
    for (const [argv, code, message] of cases) {
      const result = await cli(...argv);
      expect(result.code, argv.join(' ')).toBe(code);
      expect(result.stderr, argv.join(' ')).toMatch(message);
    }
    expect((await readdir(join(home, 'images'))).filter((n) => n.startsWith('x') || n.startsWith('.'))).toEqual([]);
  });

  it('says how to get qemu-img when it is missing', async () => {
    const result = await cliWith({ VIRTDESK_QEMU_IMG: '', PATH: '/nonexistent' }, 'image', 'create', 'y.qcow2', '--size', '1M');
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/qemu-img was not found on PATH/);
    expect(result.stderr).toMatch(/apt install qemu-utils/);
  });
});

describe('virtdesk iso', () => {
  it('adds, lists, detects and removes', async () => {
    const tree = join(dir, 'tree');
    await mkdir(tree);
    await writeFile(join(tree, 'a.txt'), 'a');
    const iso = join(dir, 'debian.iso');
    await run('xorriso', ['-as', 'mkisofs', '-quiet', '-V', 'Debian 11.9.0 amd64 n', '-o', iso, tree]);
    const detect = await cli('iso', 'detect', iso);
    expect(detect.stdout).toMatch(/Volume ID\s+Debian 11\.9\.0 amd64 n/);
    expect(detect.stdout).toMatch(/OS\s+Debian 11 \(debian11\); recommended 1024 MiB RAM, 1 vCPU, 20 GiB disk/);
    expect(await json('iso', 'add', iso)).toMatchObject({ name: 'debian.iso', detection: { osId: 'debian11' } });
    expect((await cli('iso', 'list')).stdout).toMatch(/^debian\.iso\s+debian11\s+Debian 11\.9\.0 amd64 n/m);
    expect((await json<{ detection: { osId: string } }>('iso', 'detect', 'debian.iso')).detection.osId).toBe('debian11');
    const notIso = await cli('iso', 'add', join(dir, 'notes.txt'));
    expect(notIso.code).toBe(1);
    expect(notIso.stderr).toMatch(/not an ISO 9660 image/);
    expect((await cli('iso', 'remove', 'debian.iso')).stdout).toMatch(/stays on disk/);
    expect((await json<{ isos: unknown[] }>('iso', 'list')).isos).toEqual([]);
  });
});
