// Issue 18 item 5, the audit's reproductions through a real serve: a browser session names host
// files only inside the allowed folders, cannot widen them, cannot make a system folder a pool,
// and a volume delete removes only disk images or ISOs. The engine behind it is real (temp home).
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rpcSocket, type RpcSocket } from './rpc-client-socket';
import { startTestServe, type TestServe } from './serve-harness';

const run = promisify(execFile);
let serve: TestServe;
let rpc: RpcSocket;
let outside: string;
let nextId = 1;

async function call(method: string, params: unknown): Promise<{ result?: unknown; error?: { code: string; message: string; hint?: string } }> {
  const id = nextId++;
  rpc.call(id, method, params);
  const reply = await rpc.reply(id, 30_000);
  return reply.t === 'result' ? { result: reply.value } : { error: reply.error as { code: string; message: string; hint?: string } };
}

async function refused(method: string, params: unknown): Promise<{ code: string; message: string; hint?: string }> {
  const reply = await call(method, params);
  if (!reply.error) throw new Error(`${method} was accepted: ${JSON.stringify(reply.result)}`);
  return reply.error;
}

const vm = (name: string, extra: Record<string, unknown>) => ({ input: { name, memory: { maximumMiB: 128 }, ...extra } });

beforeAll(async () => {
  serve = await startTestServe();
  rpc = rpcSocket(await serve.openSocket());
  // A folder nobody allowed: not a pool, not the ISO library, not under $HOME.
  outside = await mkdtemp(join(tmpdir(), 'vd-outside-'));
  await writeFile(join(outside, 'secret.img'), Buffer.alloc(1024 * 1024));
}, 60_000);

afterAll(async () => {
  await serve?.close();
  if (outside) await rm(outside, { recursive: true, force: true });
});

describe('what a browser session may name', () => {
  it('refuses disks, CD-ROMs and kernels outside the allowed folders (the root-only file the audit read)', async () => {
    for (const [what, extra] of [
      ['disk', { disks: [{ source: '/etc/shadow', readOnly: true }] }],
      ['cdrom', { cdroms: [{ media: '/etc/shadow' }] }],
      ['kernel', { directKernel: { kernel: '/etc/shadow' } }],
      ['initrd', { directKernel: { kernel: `${outside}/secret.img`, initrd: '/etc/shadow' } }],
    ] as const) {
      const error = await refused('vms.create', vm(`reach-${what}`, extra));
      expect(error.code, what).toBe('permission-denied');
      expect(error.message).toMatch(/is outside the folders this session may use/);
      expect(error.hint).toMatch(/virtdesk folder allow/);
    }
    expect(((await call('vms.list', {})).result as unknown[]).length).toBe(0);
  });

  it('follows symlinks and .. to where they really lead', async () => {
    const pool = join(serve.dir, 'home', 'images');
    await mkdir(pool, { recursive: true });
    await run('ln', ['-sf', '/etc/shadow', join(pool, 'shadow.img')]);
    const viaLink = await refused('vms.create', vm('via-link', { disks: [{ source: join(pool, 'shadow.img'), readOnly: true }] }));
    expect(viaLink.message).toMatch(/\(really \/etc\/shadow\)/);
    const viaDots = await refused('vms.create', vm('via-dots', { cdroms: [{ media: `${pool}/../../../../../etc/shadow` }] }));
    expect(viaDots.code).toBe('permission-denied');
  });

  it('accepts files in a pool, and keeps a VM editable although the CLI gave it a file outside', async () => {
    const pool = join(serve.dir, 'home', 'images');
    await mkdir(pool, { recursive: true });
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', join(pool, 'ok.qcow2'), '16M']);
    const created = await call('vms.create', vm('in-pool', { disks: [{ source: join(pool, 'ok.qcow2') }] }));
    expect(created.error?.message).toBeUndefined();

    // The CLI (the user acting directly) is not limited: the engine's own caller makes this VM.
    const local = await serve.engine.implementation.vms.create(
      vm('cli-made', { disks: [{ source: `${outside}/secret.img`, format: 'raw' }] }) as never,
      { signal: new AbortController().signal, peer: { connectionId: 'cli', kind: 'local' } },
    );
    const id = local.definition.id;
    const edited = await call('vms.update', { id, patch: { description: 'edited from the browser' } });
    expect(edited.error?.message).toBeUndefined();
    const added = await refused('vms.update', { id, patch: { cdroms: [{ media: '/etc/shadow' }] } });
    expect(added.message).toMatch(/cdroms\[0\]\.media \/etc\/shadow is outside/);
  });

  it('refuses imports, ISOs and pools of files outside, and cannot allow folders to itself', async () => {
    expect((await refused('storage.importVolume', { pool: 'default', source: `${outside}/secret.img`, mode: 'copy' })).code).toBe('permission-denied');
    expect((await refused('storage.addIso', { path: '/etc/shadow' })).code).toBe('permission-denied');
    expect((await refused('storage.detectIso', { path: '/etc/shadow' })).code).toBe('permission-denied');
    expect((await refused('storage.addPool', { name: 'out', path: outside })).code).toBe('permission-denied');
    const widen = await refused('storage.allowFolder', { path: outside });
    expect(widen.message).toBe('A browser session cannot allow more folders to itself.');
    expect(widen.hint).toContain(`virtdesk folder allow ${outside}`);
    const listed = (await call('storage.listAllowedFolders', {})).result as { folders: { path: string; source: string }[]; limited: boolean };
    expect(listed.limited).toBe(true);
    expect(listed.folders.map((f) => f.source)).toEqual(expect.arrayContaining(['pool', 'iso-library', 'home']));

    // Allowed on the host (as `virtdesk folder allow` does), the same import goes through.
    await serve.engine.allowedFolders.add(outside);
    const imported = await call('storage.importVolume', { pool: 'default', source: `${outside}/secret.img`, mode: 'copy', format: 'raw' });
    expect(imported.error?.message).toBeUndefined();
    await serve.engine.allowedFolders.remove(outside);
  });

  it('refuses system folders as pools, for every caller', async () => {
    for (const path of ['/', '/etc', '/usr/share', '/var/lib/dpkg']) {
      const error = await refused('storage.addPool', { name: 'sys', path });
      expect(error.message, path).toMatch(/cannot be a storage pool|outside the folders/);
    }
    const local = await Promise.resolve()
      .then(() => serve.engine.implementation.storage.addPool({ name: 'sys', path: '/etc' }, { signal: new AbortController().signal, peer: { connectionId: 'cli', kind: 'local' } }))
      .catch((e: unknown) => e as Error);
    expect((local as Error).message).toBe('/etc cannot be a storage pool: /etc is a system folder.');
  });

  it('deletes only disk images and ISOs from a pool (the audit lost important.txt)', async () => {
    const pool = join(serve.dir, 'home', 'images');
    await writeFile(join(pool, 'important.txt'), 'the only copy\n'.repeat(100));
    const error = await refused('storage.deleteVolume', { pool: 'default', name: 'important.txt' });
    expect(error.message).toMatch(/"important.txt" is not a disk image or ISO/);
    expect((await stat(join(pool, 'important.txt'))).size).toBeGreaterThan(0);
    await run('qemu-img', ['create', '-q', '-f', 'raw', join(pool, 'blank.raw'), '8M']);
    expect((await call('storage.deleteVolume', { pool: 'default', name: 'blank.raw' })).error).toBeUndefined();
  });

  it('says when serve runs as root, in host.info for the UI', async () => {
    const info = (await call('host.info', {})).result as { rootWarning: string | null };
    if (process.geteuid?.() === 0) expect(info.rootWarning).toMatch(/^virtdesk serve runs as root, so every signed-in browser session acts as root/);
    else expect(info.rootWarning).toBeNull();
  });
});
