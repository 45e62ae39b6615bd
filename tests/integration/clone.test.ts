// Clones and templates with the test guest under TCG: a linked clone of a template boots with its
// own MAC and leaves the base image untouched; full clones of a stopped and of a running VM.
import { createHash } from 'node:crypto';
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { snapshotCommands } from '../../engine/cli/snapshot-commands';
import { createVmCommands } from '../../engine/cli/vm-commands';
import { addVmPortForward } from '../../engine/network/vm-port-forwards';
import { imageInfo } from '../../engine/storage/qemu-img/info';
import { attachDisk, detachDisk } from '../../engine/storage/vm-media/vm-media';
import { VmRegistry } from '../../engine/vm/definitions/registry';
import { SerialShell } from '../fixtures/storage/serial-shell';
import { ensureTestGuest, readMarker, READY_LINE, type TestGuest } from '../guest/guest';
import { createTempHome, killProcessesUnder, type TempHome } from '../support/leaks';
import { cliRunner, fileSize, freePort, guestVmInput, waitForSerial, type CliResult } from '../support/vm-helpers';

let guest: TestGuest;
let home: TempHome;
let registry: VmRegistry;
let cli: (...argv: string[]) => Promise<CliResult>;
const shells: SerialShell[] = [];
const timings: Record<string, number> = {};

beforeAll(async () => {
  guest = await ensureTestGuest();
  home = await createTempHome('vd-clone-');
  registry = new VmRegistry(home.home, home.env);
  cli = cliRunner([...createVmCommands(), ...snapshotCommands], home.env);
});
afterEach(() => {
  for (const shell of shells.splice(0)) shell.close();
});
afterAll(async () => {
  await killProcessesUnder(home.home);
  console.log('clone timings (ms):', JSON.stringify(timings));
  await home?.cleanup();
});

async function ok(...argv: string[]): Promise<CliResult> {
  const result = await cli(...argv);
  if (result.code !== 0) throw new Error(`virtdesk ${argv.join(' ')} failed (${result.code}):\n${result.stderr}${result.stdout}`);
  return result;
}

async function boot(name: string): Promise<SerialShell> {
  const paths = registry.paths(await registry.resolve(name));
  const offset = await fileSize(paths.serialLog);
  await ok('vm', 'start', name);
  await waitForSerial(paths.serialLog, READY_LINE, 120_000, offset);
  const shell = await SerialShell.open(paths.serialSocket);
  shells.push(shell);
  return shell;
}

async function sha256(path: string): Promise<string> {
  return createHash('sha256').update(await readFile(path)).digest('hex');
}

describe('templates and linked clones', () => {
  it('a linked clone of a template boots with its own MAC and UUID; its writes leave the base image as it was', async () => {
    await registry.create(await guestVmInput(guest, home.home, 'base', { hostPort: await freePort() }));
    // One boot writes the disk marker (boot=1) into the base image.
    await boot('base');
    await ok('vm', 'stop', 'base', '--timeout', '60');
    const base = await registry.resolve('base');
    const baseImage = base.disks[0]!.source;
    expect(await readMarker(baseImage)).toMatchObject({ boot: 1 });

    const linkedRefused = await cli('vm', 'clone', 'base', 'early', '--linked');
    expect(linkedRefused.code).toBe(1);
    expect(linkedRefused.stderr).toContain('Cannot make a linked clone of "base": it is not a template.');

    const marked = await ok('vm', 'template', 'base');
    expect(marked.stdout).toContain('VM "base" is now a template');
    expect((await stat(baseImage)).mode & 0o222).toBe(0);
    const startRefused = await cli('vm', 'start', 'base');
    expect(startRefused.code).toBe(1);
    expect(startRefused.stderr).toContain('Cannot start VM "base": it is a template');
    const snapshotRefused = await cli('snapshot', 'create', 'base', 'x');
    expect(snapshotRefused.code).toBe(1);
    expect(snapshotRefused.stderr).toContain('Cannot snapshot VM "base": it is a template');
    // Hardware and forwards are part of what a template keeps read-only, from every entry point.
    const ctx = { home: home.home, env: home.env };
    await expect(attachDisk(ctx, { vm: 'base', source: guest.blankQcow2, readOnly: true })).rejects.toThrow('Cannot edit VM "base": it is a template');
    await expect(detachDisk(ctx, { vm: 'base', disk: baseImage })).rejects.toThrow('Cannot edit VM "base": it is a template');
    await expect(addVmPortForward(ctx, 'base', { protocol: 'tcp', hostAddress: '127.0.0.1', hostPort: 18080, guestPort: 80 })).rejects.toThrow('Cannot edit VM "base": it is a template');
    expect((await registry.resolve('base')).disks).toHaveLength(1);

    const baseSum = await sha256(baseImage);
    const started = Date.now();
    const cloned = await ok('vm', 'clone', 'base', 'linked', '--linked');
    timings['linked clone'] = Date.now() - started;
    expect(cloned.stderr).toContain('Port forwards were not copied');
    const clone = await registry.resolve('linked');
    expect(clone.id).not.toBe(base.id);
    expect(clone.nics[0]!.mac).not.toBe(base.nics[0]!.mac);
    const overlay = clone.disks[0]!.source;
    expect(overlay).toBe(join(home.home, 'linked.qcow2'));
    const info = await imageInfo(overlay);
    expect(info.backingPath).toBe(baseImage);
    expect(info.backingFormat).toBe('qcow2');

    const sh = await boot('linked');
    // Matched as a line: a shell that was just (re)spawned prints its banner into the first reply.
    expect(await sh.run('cat /sys/class/net/eth0/address')).toMatch(new RegExp(`^${clone.nics[0]!.mac}\\r?$`, 'm'));
    await sh.run('dd if=/dev/urandom of=/dev/vda bs=4096 seek=64 count=256 conv=fsync 2>/dev/null; echo written');
    await ok('vm', 'stop', 'linked', '--force');
    // The clone's boot counted on (boot=2 in the overlay); the base image is byte for byte the same.
    expect(await readMarker(overlay)).toMatchObject({ boot: 2 });
    expect(await readMarker(baseImage)).toMatchObject({ boot: 1 });
    expect(await sha256(baseImage)).toBe(baseSum);

    const unmark = await cli('vm', 'template', 'base', '--unset');
    expect(unmark.code).toBe(1);
    expect(unmark.stderr).toContain('Cannot unmark template "base": the linked clone "linked" reads its disks');
  });

  it('refuses a clone to a name that exists, leaving no files behind', async () => {
    const before = await readdir(home.home);
    const refused = await cli('vm', 'clone', 'base', 'linked', '--linked');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('Cannot clone "base" to "linked": a VM named "linked" already exists.');
    expect(await readdir(home.home)).toEqual(before);
  });

  it('makes a full, standalone copy of a stopped VM (a linked clone flattens)', async () => {
    const started = Date.now();
    await ok('vm', 'clone', 'linked', 'full');
    timings['full clone (stopped, 64 MiB image)'] = Date.now() - started;
    const full = await registry.resolve('full');
    const info = await imageInfo(full.disks[0]!.source);
    expect(info.backingFile).toBeUndefined();
    expect(await readMarker(full.disks[0]!.source)).toMatchObject({ boot: 2 });
    const macs = (await registry.definitions()).map((def) => def.nics[0]!.mac);
    expect(new Set(macs).size).toBe(macs.length);
  });

  it('clones a running VM through a snapshot taken for it; the source keeps running and keeps no snapshot', async () => {
    await boot('full');
    const source = await registry.resolve('full');
    const started = Date.now();
    await ok('vm', 'clone', 'full', 'from-running');
    timings['full clone (running source, through a snapshot)'] = Date.now() - started;
    expect((await registry.status(source)).state).toBe('running');
    expect((await imageInfo(source.disks[0]!.source)).snapshots).toEqual([]);
    const copy = await registry.resolve('from-running');
    const info = await imageInfo(copy.disks[0]!.source);
    expect(info.backingFile).toBeUndefined();
    expect(info.snapshots).toEqual([]);
    // The copy holds the disk as it was at the clone: the source's third boot marker.
    expect(await readMarker(copy.disks[0]!.source)).toMatchObject({ boot: 3 });
    await ok('vm', 'stop', 'full', '--force');

    const linkedRunning = await cli('vm', 'clone', 'full', 'nope', '--linked');
    expect(linkedRunning.code).toBe(1);
  });

  it('unmarks a template once no linked clone reads it', async () => {
    await ok('vm', 'delete', 'linked', '--with-storage');
    const base = await registry.resolve('base');
    await ok('vm', 'template', 'base', '--unset');
    expect((await stat(base.disks[0]!.source)).mode & 0o200).not.toBe(0);
    await boot('base');
    await ok('vm', 'stop', 'base', '--force');
  });
});
