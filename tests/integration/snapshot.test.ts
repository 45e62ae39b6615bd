// Snapshots of the test guest under TCG: with memory (reverted in place and into a fresh QEMU),
// disk-only of a running and a stopped VM, the tree, and every refusal the issue lists.
import { readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { snapshotCommands } from '../../engine/cli/snapshot-commands';
import { createVmCommands } from '../../engine/cli/vm-commands';
import { imageInfo } from '../../engine/storage/qemu-img/info';
import { runQemuImgOk } from '../../engine/storage/qemu-img/run';
import { VmRegistry } from '../../engine/vm/definitions/registry';
import { snapshotTag } from '../../engine/vm/ops/snapshots';
import { SerialShell } from '../fixtures/storage/serial-shell';
import { ensureTestGuest, READY_LINE, type TestGuest } from '../guest/guest';
import { assertNoLeftoverSockets, createTempHome, killProcessesUnder, type TempHome } from '../support/leaks';
import { decodePng } from '../support/png';
import { cliRunner, fileSize, guestVmInput, waitForSerial, type CliResult } from '../support/vm-helpers';

let guest: TestGuest;
let home: TempHome;
let registry: VmRegistry;
let cli: (...argv: string[]) => Promise<CliResult>;
const shells: SerialShell[] = [];
const timings: Record<string, number> = {};

beforeAll(async () => {
  guest = await ensureTestGuest();
  home = await createTempHome('vd-snap-');
  registry = new VmRegistry(home.home, home.env);
  cli = cliRunner([...createVmCommands(), ...snapshotCommands], home.env);
});
afterEach(() => {
  for (const shell of shells.splice(0)) shell.close();
});
afterAll(async () => {
  await killProcessesUnder(home.home);
  console.log('snapshot timings (ms):', JSON.stringify(timings));
  await home?.cleanup();
});

async function ok(...argv: string[]): Promise<CliResult> {
  const result = await cli(...argv);
  if (result.code !== 0) throw new Error(`virtdesk ${argv.join(' ')} failed (${result.code}):\n${result.stderr}${result.stdout}`);
  return result;
}

async function timed<T>(what: string, fn: () => Promise<T>): Promise<T> {
  const started = Date.now();
  try {
    return await fn();
  } finally {
    timings[what] = Date.now() - started;
  }
}

/** Starts the VM, waits for its ready line and opens its serial shell. */
async function boot(name: string): Promise<SerialShell> {
  const def = await registry.resolve(name);
  const paths = registry.paths(def);
  const offset = await fileSize(paths.serialLog);
  await ok('vm', 'start', name);
  await waitForSerial(paths.serialLog, READY_LINE, 120_000, offset);
  return shell(name);
}

async function shell(name: string): Promise<SerialShell> {
  const opened = await SerialShell.open(registry.paths(await registry.resolve(name)).serialSocket);
  shells.push(opened);
  return opened;
}

async function snapshots(name: string) {
  return JSON.parse((await ok('snapshot', 'list', name, '--json')).stdout) as { id: string; name: string; parentId: string | null; kind: string; vmState: string; current: boolean; hasThumbnail: boolean }[];
}

async function tagsOf(path: string): Promise<string[]> {
  return (await imageInfo(path)).snapshots.map((snapshot) => snapshot.name);
}

describe('snapshots of the test guest', () => {
  it('with memory: change the marker, revert, and the shell shows the first marker on the same console', async () => {
    await registry.create(await guestVmInput(guest, home.home, 'snap'));
    const sh = await boot('snap');
    expect(await sh.run('echo one > /tmp/m; cat /tmp/m')).toContain('one');

    const created = await timed('create with memory (running)', () => ok('snapshot', 'create', 'snap', 'first', '--description', 'marker one'));
    expect(created.stdout).toMatch(/^Took snapshot "first" of VM "snap" \(with memory, the guest running/);

    expect(await sh.run('echo two > /tmp/m; cat /tmp/m')).toContain('two');

    // Without --yes nothing happens and the CLI says why.
    const refused = await cli('snapshot', 'revert', 'snap', 'first');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('Reverting VM "snap" to snapshot "first" throws away its current state: the running guest, every disk change made since then.');
    expect(refused.stderr).toContain('--yes');
    expect(await sh.run('cat /tmp/m')).toContain('two');

    const reverted = await timed('revert with memory (in place)', () => ok('snapshot', 'revert', 'snap', 'first', '--yes'));
    expect(reverted.stdout).toContain('same QEMU, consoles stay connected');
    // The same serial connection keeps working, and the guest is back at marker one.
    const after = await sh.run('cat /tmp/m');
    expect(after).toContain('one');
    expect(after).not.toContain('two');
    expect(await sh.run('echo still-$((20+22))')).toContain('still-42');

    const list = await snapshots('snap');
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ name: 'first', kind: 'with-memory', vmState: 'running', current: true, parentId: null, hasThumbnail: true });
    const def = await registry.resolve('snap');
    const png = decodePng(await readFile(join(home.home, 'vms', def.id, 'snapshots', list[0]!.id, 'thumbnail.png')));
    expect(png.width).toBeGreaterThan(100);
    expect(await tagsOf(def.disks[0]!.source)).toContain(snapshotTag(list[0]!.id));
  });

  it('refuses a duplicate name, and a memory snapshot of a stopped VM', async () => {
    const duplicate = await cli('snapshot', 'create', 'snap', 'first');
    expect(duplicate.code).toBe(1);
    expect(duplicate.stderr).toContain('VM "snap" already has a snapshot named "first".');
    expect(await snapshots('snap')).toHaveLength(1);

    const disk = await timed('create disk-only (running)', () => ok('snapshot', 'create', 'snap', 'disks-running', '--disk-only'));
    expect(disk.stdout).toContain('disks only');
    await ok('vm', 'stop', 'snap', '--force');
    const memory = await cli('snapshot', 'create', 'snap', 'nope', '--memory');
    expect(memory.code).toBe(1);
    expect(memory.stderr).toContain('VM "snap" is not running, so it has no memory to snapshot.');
    await timed('create disk-only (stopped, qemu-img)', () => ok('snapshot', 'create', 'snap', 'stopped-disks'));
    const list = await snapshots('snap');
    const byName = new Map(list.map((s) => [s.name, s]));
    expect(byName.get('disks-running')).toMatchObject({ kind: 'disk-only', vmState: 'running', parentId: byName.get('first')!.id });
    expect(byName.get('stopped-disks')).toMatchObject({ kind: 'disk-only', vmState: 'stopped', parentId: byName.get('disks-running')!.id, current: true, hasThumbnail: false });
    const text = (await ok('snapshot', 'list', 'snap')).stdout;
    expect(text).toMatch(/ {2}first[\s\S]*\n {4}disks-running[\s\S]*\n\* {5}stopped-disks/);
  });

  it('reverts a stopped VM to a memory snapshot: the definition of that moment comes back, QEMU starts into it and the guest runs on', async () => {
    const def = await registry.resolve('snap');
    // Edited since the snapshot: more memory (the saved RAM would not fit it) and another description.
    await registry.store.update(def.id, () => ({ memory: { maximumMiB: 256, currentMiB: 256 }, description: 'edited later' }));
    const reverted = await timed('revert with memory (stopped VM, new QEMU)', () => ok('snapshot', 'revert', 'snap', 'first', '--yes'));
    expect(reverted.stdout).toContain('the guest is running');
    expect((await registry.status(def)).state).toBe('running');
    expect(await registry.resolve('snap')).toMatchObject({ memory: { maximumMiB: 192 }, description: def.description });
    const sh = await shell('snap');
    expect(await sh.run('cat /tmp/m')).toContain('one');
    expect((await snapshots('snap')).find((s) => s.current)?.name).toBe('first');
    await ok('vm', 'stop', 'snap', '--force');
  });

  it('deletes a snapshot from the images; its child hangs on its parent', async () => {
    const def = await registry.resolve('snap');
    const before = await snapshots('snap');
    const middle = before.find((s) => s.name === 'disks-running')!;
    await timed('delete (stopped, qemu-img)', () => ok('snapshot', 'delete', 'snap', 'disks-running'));
    const after = await snapshots('snap');
    expect(after.map((s) => s.name).sort()).toEqual(['first', 'stopped-disks']);
    expect(after.find((s) => s.name === 'stopped-disks')!.parentId).toBe(before.find((s) => s.name === 'first')!.id);
    expect(await tagsOf(def.disks[0]!.source)).not.toContain(snapshotTag(middle.id));
    const missing = await cli('snapshot', 'delete', 'snap', 'disks-running');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('VM "snap" has no snapshot "disks-running".');
  });

  it('reverts a running VM to a disk-only snapshot: forced off, disks back, booted again with --start', async () => {
    const def = await registry.resolve('snap');
    const sh = await boot('snap');
    await ok('snapshot', 'create', 'snap', 'clean-disk', '--disk-only');
    const readBack = 'dd if=/dev/vda bs=512 skip=2048 count=1 2>/dev/null | head -c 11; echo " END"';
    await sh.run('printf LATER-WRITE | dd of=/dev/vda bs=512 seek=2048 conv=fsync 2>/dev/null; echo done');
    expect(await sh.run(readBack)).toContain('LATER-WRITE END');
    sh.close();
    const offset = await fileSize(registry.paths(def).serialLog);
    const reverted = await timed('revert disk-only (running VM, forced off, --start)', () => ok('snapshot', 'revert', 'snap', 'clean-disk', '--yes', '--start'));
    expect(reverted.stdout).toContain('the guest is booting');
    await waitForSerial(registry.paths(def).serialLog, READY_LINE, 120_000, offset);
    const again = await shell('snap');
    const after = await again.run(readBack);
    expect(after).toContain(' END');
    expect(after).not.toContain('LATER-WRITE');
    again.close();
    await ok('vm', 'stop', 'snap', '--force');
  });

  it('explains a raw disk instead of skipping it, and takes nothing', async () => {
    const raw = join(home.home, 'scratch.raw');
    await runQemuImgOk('create raw', ['create', '-f', 'raw', raw, '8M']);
    const def = await registry.resolve('snap');
    await registry.store.update(def.id, (fresh) => ({ disks: [...fresh.disks, { id: 'scratch', source: raw, format: 'raw', bus: 'virtio', cache: 'writeback', readOnly: false, discard: 'unmap' }] }));
    try {
      const before = await snapshots('snap');
      const tags = await tagsOf(def.disks[0]!.source);
      const refused = await cli('snapshot', 'create', 'snap', 'with-raw');
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain(`disk scratch (${raw}) is a raw image, and raw images cannot hold snapshots`);
      expect(refused.stderr).toContain('Convert it to qcow2');
      expect(await snapshots('snap')).toEqual(before);
      expect(await tagsOf(def.disks[0]!.source)).toEqual(tags);
    } finally {
      await registry.store.update(def.id, (fresh) => ({ disks: fresh.disks.filter((disk) => disk.id !== 'scratch') }));
    }
  });

  it('refuses to revert to a snapshot whose disk was converted to raw, and changes nothing', async () => {
    await ok('snapshot', 'create', 'snap', 'before-convert');
    const def = await registry.resolve('snap');
    const image = def.disks[0]!.source;
    const rawImage = `${image}.raw`;
    await runQemuImgOk('convert', ['convert', '-f', 'qcow2', '-O', 'raw', image, rawImage]);
    await rename(rawImage, image);
    await registry.store.update(def.id, (fresh) => ({ disks: fresh.disks.map((disk) => ({ ...disk, format: 'raw' as const })) }));
    const refused = await cli('snapshot', 'revert', 'snap', 'before-convert', '--yes');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`disk disk0 (${image}) is now a raw image, but the snapshot was kept inside it when it was qcow2`);
    expect((await registry.resolve('snap')).disks[0]!.format).toBe('raw');
    expect((await snapshots('snap')).find((s) => s.current)?.name).toBe('before-convert');
    await assertNoLeftoverSockets(home.home);
  });
});
