import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EngineError } from '../../engine/api/errors';
import type { CliIo } from '../../engine/cli/command';
import { runCli } from '../../engine/cli/run-cli';
import { storageCommands } from '../../engine/cli/storage-commands';
import { createVmDefinition, type VmDefinition } from '../../engine/model';
import { createImage } from '../../engine/storage/qemu-img';
import { StorageService } from '../../engine/storage/storage-service';
import { attachDisk, changeCdromMedia, detachDisk, type VmMediaContext } from '../../engine/storage/vm-media/vm-media';
import { vmUsageResolver } from '../../engine/storage/vm-usage';
import { stopVm } from '../../engine/vm/ops/control';
import { withCommandQmp } from '../../engine/vm/runtime/qmp-session';
import { vmRuntimePaths } from '../../engine/vm/runtime/paths';
import { startVm } from '../../engine/vm/ops/start';
import { openVmStore } from '../../engine/vm/definitions/store';
import { ensureTestGuest, parseMarker, READY_LINE } from '../guest/guest';
import { SerialShell } from '../fixtures/storage/serial-shell';
import { killProcessesUnder } from '../support/leaks';

const run = promisify(execFile);
let home: string;
let env: NodeJS.ProcessEnv;
let storage: StorageService;
let def: VmDefinition;
let shell: SerialShell | undefined;
let ctx: VmMediaContext;
let baseSha: string;
let isoFirst: string;
let isoSecond: string;

async function sha(path: string): Promise<string> {
  return createHash('sha256').update(await readFile(path)).digest('hex');
}

async function makeIso(name: string, text: string): Promise<string> {
  const tree = join(home, `${name}-tree`);
  await mkdir(tree, { recursive: true });
  await writeFile(join(tree, 'WHICH.TXT'), `${text}\n`);
  const path = join(home, `${name}.iso`);
  await run('xorriso', ['-as', 'mkisofs', '-quiet', '-V', text.toUpperCase(), '-o', path, tree]);
  return path;
}

async function waitFor<T>(what: string, fn: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T;
  do {
    last = await fn();
    if (ok(last)) return last;
    await new Promise((r) => setTimeout(r, 500));
  } while (Date.now() < deadline);
  throw new Error(`${what}: still ${JSON.stringify(last)}`);
}

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'vdmedia-'));
  env = { ...process.env, VIRTDESK_HOME: home, VIRTDESK_RUNTIME_DIR: join(home, 'run') };
  const guest = await ensureTestGuest();
  storage = new StorageService({ home, usage: vmUsageResolver(home, env) });
  ctx = { home, env };
  const pool = await storage.pools.ensureDefault();
  await createImage(join(pool.path, 'base.qcow2'), { format: 'qcow2', sizeBytes: 64 * 2 ** 20 });
  baseSha = await sha(join(pool.path, 'base.qcow2'));
  await storage.cloneVolume({ pool: 'default', name: 'base.qcow2', newName: 'vm.qcow2', mode: 'linked' });
  isoFirst = await makeIso('first', 'first-disc');
  isoSecond = await makeIso('second', 'second-disc');
  def = await openVmStore(home).create(
    createVmDefinition({
      name: 'media',
      accelerator: 'tcg',
      memory: { maximumMiB: 256 },
      directKernel: { kernel: guest.kernel, initrd: guest.initrd, cmdline: guest.cmdline },
      disks: [{ source: join(pool.path, 'vm.qcow2'), format: 'qcow2' }],
      cdroms: [{ bus: 'scsi', media: isoFirst }],
      nics: [],
      balloon: false,
      rng: false,
    }),
  );
  await startVm(def, { home, env, timeoutMs: 60_000 });
  const paths = vmRuntimePaths(home, def.id, env);
  await waitFor('ready line in serial.log', () => readFile(paths.serialLog, 'utf8').catch(() => ''), (log) => READY_LINE.test(log), 120_000);
  shell = await SerialShell.open(paths.serialSocket);
  await shell.run('true');
});

afterAll(async () => {
  shell?.close();
  if (def) await stopVm(def, { home, env }, { force: true }).catch(() => undefined);
  if (home) {
    await killProcessesUnder(home);
    await rm(home, { recursive: true, force: true });
  }
});

describe('a VM on a linked clone', () => {
  it('boots from the clone; its writes land in the clone and the base image is unchanged', async () => {
    const paths = vmRuntimePaths(home, def.id, env);
    expect(await readFile(paths.serialLog, 'utf8')).toMatch(READY_LINE);
    expect(await shell!.run('head -c 15 /dev/vda')).toContain('VIRTDESK-MARKER');
    await shell!.run('sync');
    // The VM holds the image's write lock, so read a copy made with force-share (-U).
    const copy = join(home, 'vm-copy.raw');
    await run('qemu-img', ['convert', '-U', '-f', 'qcow2', '-O', 'raw', join(home, 'images', 'vm.qcow2'), copy]);
    expect(parseMarker((await readFile(copy)).subarray(0, 512))).toMatchObject({ boot: 1 });
    expect(await sha(join(home, 'images', 'base.qcow2'))).toBe(baseSha);
  });

  it('keeps the in-use rules while the VM runs', async () => {
    const del = await storage.deleteVolume({ pool: 'default', name: 'vm.qcow2', force: true }).catch((e: unknown) => e);
    expect((del as EngineError).code).toBe('conflict');
    expect((del as EngineError).message).toMatch(/in use by the running VM "media"/);
    const resize = await storage.resizeVolume({ pool: 'default', name: 'vm.qcow2', sizeBytes: 128 * 2 ** 20 }).catch((e: unknown) => e);
    expect((resize as EngineError).code).toBe('conflict');
    const other = await openVmStore(home).create(createVmDefinition({ name: 'other', accelerator: 'tcg', memory: { maximumMiB: 128 }, nics: [], balloon: false, rng: false }));
    const attach = await attachDisk(ctx, { vm: other.name, source: join(home, 'images', 'vm.qcow2') }).catch((e: unknown) => e);
    expect((attach as EngineError).code).toBe('conflict');
    expect((attach as EngineError).message).toMatch(/read-write: it is in use by the running VM "media"/);
    expect((await openVmStore(home).resolve('other')).disks).toEqual([]);
  });
});

describe('disks and CD-ROM media on the running VM', () => {
  it('hot-plugs a disk that the guest sees as vdb, and unplugs it again', async () => {
    await storage.createVolume({ pool: 'default', name: 'extra.qcow2', format: 'qcow2', sizeBytes: 32 * 2 ** 20 });
    const attached = await attachDisk(ctx, { vm: 'media', source: join(home, 'images', 'extra.qcow2') });
    expect(attached).toMatchObject({ live: true, restartNeeded: false, deviceId: 'disk1' });
    await waitFor('vdb in the guest', () => shell!.run('ls /sys/block'), (out) => /\bvdb\b/.test(out));
    expect(await shell!.run('cat /sys/block/vdb/size')).toMatch(/^65536\s*$/m);
    expect((await openVmStore(home).resolve('media')).disks.map((d) => d.id)).toEqual(['disk0', 'disk1']);

    const detached = await detachDisk(ctx, { vm: 'media', disk: 'disk1' });
    expect(detached).toMatchObject({ live: true, restartNeeded: false });
    expect(await shell!.run('ls /sys/block')).not.toMatch(/\bvdb\b/);
    expect((await openVmStore(home).resolve('media')).disks.map((d) => d.id)).toEqual(['disk0']);
    // The image is free again: qemu-img can lock it.
    expect((await storage.checkVolume({ pool: 'default', name: 'extra.qcow2' })).clean).toBe(true);
  });

  it('hot-plugs a disk on the SCSI bus next to the CD-ROM', async () => {
    await storage.createVolume({ pool: 'default', name: 'scsi.qcow2', format: 'qcow2', sizeBytes: 16 * 2 ** 20 });
    const before = await shell!.run('ls /sys/block');
    const attached = await attachDisk(ctx, { vm: 'media', source: join(home, 'images', 'scsi.qcow2'), bus: 'scsi' });
    expect(attached).toMatchObject({ live: true, restartNeeded: false });
    const after = await waitFor('a new sd disk in the guest', () => shell!.run('ls /sys/block'), (out) => /\bsd[a-z]\b/.test(out) && out !== before);
    const disk = /\b(sd[a-z])\b/.exec(after)?.[1];
    expect(await shell!.run(`cat /sys/block/${disk}/size`)).toMatch(/^32768\s*$/m);
    await detachDisk(ctx, { vm: 'media', disk: attached.deviceId });
    await waitFor('the sd disk gone', () => shell!.run('ls /sys/block'), (out) => !new RegExp(`\\b${disk}\\b`).test(out));
  });

  it('marks a SATA disk as needing a restart instead of hot-plugging it', async () => {
    await storage.createVolume({ pool: 'default', name: 'sata.qcow2', format: 'qcow2', sizeBytes: 8 * 2 ** 20 });
    const result = await attachDisk(ctx, { vm: 'media', source: join(home, 'images', 'sata.qcow2'), bus: 'sata' });
    expect(result).toMatchObject({ live: false, restartNeeded: true });
    expect(result.note).toMatch(/sata disks cannot be hot-plugged/);
    await detachDisk(ctx, { vm: 'media', disk: result.deviceId });
  });

  it('changes the ISO in the CD-ROM and the guest reads the new disc; eject empties the drive', async () => {
    const read = () => shell!.run('mount -t iso9660 -o ro /dev/sr0 /mnt 2>&1; cat /mnt/WHICH.TXT 2>&1; umount /mnt 2>/dev/null; true');
    expect(await read()).toMatch(/first-disc/);
    const changed = await changeCdromMedia(ctx, { vm: 'media', media: isoSecond });
    expect(changed).toMatchObject({ live: true, deviceId: 'cdrom0' });
    await waitFor('second disc in the guest', read, (out) => /second-disc/.test(out));
    expect((await openVmStore(home).resolve('media')).cdroms[0]?.media).toBe(isoSecond);

    await changeCdromMedia(ctx, { vm: 'media', media: null });
    const blocks = await withCommandQmp(vmRuntimePaths(home, def.id, env), 'media', (qmp) => qmp.queryBlock());
    expect(blocks.find((b) => (b as { qdev?: string }).qdev?.includes('cdrom0'))).not.toHaveProperty('inserted');
    expect(await read()).not.toMatch(/first-disc|second-disc/);
    expect((await openVmStore(home).resolve('media')).cdroms[0]?.media).toBeNull();

    const notIso = await changeCdromMedia(ctx, { vm: 'media', media: join(home, 'images', 'extra.qcow2') }).catch((e: unknown) => e);
    expect((notIso as EngineError).message).toMatch(/not an ISO 9660 image/);
  });

  it('does the same through the CLI: vm disk attach|detach and vm cdrom ISO|--eject', async () => {
    const cli = async (...argv: string[]) => {
      let stdout = '';
      let stderr = '';
      const io: CliIo = { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), env };
      return { code: await runCli(argv, storageCommands, io), stdout, stderr };
    };
    const attached = await cli('vm', 'disk', 'attach', 'media', 'extra.qcow2');
    expect(attached.stderr).toBe('');
    expect(attached.stdout).toMatch(/Attached .*extra\.qcow2 to "media" as disk1 \(applied to the running VM\)/);
    await waitFor('vdb in the guest', () => shell!.run('ls /sys/block'), (out) => /\bvdb\b/.test(out));
    const detached = await cli('vm', 'disk', 'detach', 'media', 'disk1', '--json');
    expect(JSON.parse(detached.stdout)).toMatchObject({ live: true, deviceId: 'disk1' });
    expect(await shell!.run('ls /sys/block')).not.toMatch(/\bvdb\b/);
    expect((await cli('vm', 'cdrom', 'media', isoFirst)).stdout).toMatch(/Inserted .*first\.iso into cdrom0 of "media" \(applied/);
    expect((await cli('vm', 'cdrom', 'media', '--eject')).stdout).toMatch(/Ejected/);
    const usage = await cli('vm', 'cdrom', 'media', isoFirst, '--eject');
    expect(usage.code).toBe(2);
    const missing = await cli('vm', 'disk', 'detach', 'media', 'disk9');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/has no disk "disk9"/);
  });
});

describe('hot-plug on the pc machine (ACPI, no root ports)', () => {
  it('hot-plugs a virtio disk onto pci.0 and unplugs it', async () => {
    const guest = await ensureTestGuest();
    await storage.cloneVolume({ pool: 'default', name: 'base.qcow2', newName: 'legacy.qcow2', mode: 'linked' });
    const legacy = await openVmStore(home).create(
      createVmDefinition({
        name: 'legacy',
        machine: 'pc',
        accelerator: 'tcg',
        memory: { maximumMiB: 256 },
        directKernel: { kernel: guest.kernel, initrd: guest.initrd, cmdline: guest.cmdline },
        disks: [{ source: join(home, 'images', 'legacy.qcow2'), format: 'qcow2' }],
        nics: [],
        balloon: false,
        rng: false,
      }),
    );
    let legacyShell: SerialShell | undefined;
    try {
      await startVm(legacy, { home, env, timeoutMs: 60_000 });
      const paths = vmRuntimePaths(home, legacy.id, env);
      await waitFor('ready line', () => readFile(paths.serialLog, 'utf8').catch(() => ''), (log) => READY_LINE.test(log), 120_000);
      legacyShell = await SerialShell.open(paths.serialSocket);
      await storage.createVolume({ pool: 'default', name: 'legacy-extra.raw', format: 'raw', sizeBytes: 8 * 2 ** 20 });
      const attached = await attachDisk(ctx, { vm: 'legacy', source: join(home, 'images', 'legacy-extra.raw') });
      expect(attached).toMatchObject({ live: true });
      await waitFor('vdb in the pc guest', () => legacyShell!.run('ls /sys/block'), (out) => /\bvdb\b/.test(out));
      expect((await detachDisk(ctx, { vm: 'legacy', disk: attached.deviceId })).live).toBe(true);
      await waitFor('vdb gone from the pc guest', () => legacyShell!.run('ls /sys/block'), (out) => !/\bvdb\b/.test(out));
    } finally {
      legacyShell?.close();
      await stopVm(legacy, { home, env }, { force: true }).catch(() => undefined);
    }
  });
});
