import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EngineError } from '../../engine/api/errors';
import {
  checkImage,
  commitImage,
  convertImage,
  createImage,
  imageInfo,
  listSnapshots,
  locateQemuImg,
  measureImage,
  rebaseImage,
  resizeImage,
  runQemuImgOk,
  type ProgressEvent,
} from '../../engine/storage/qemu-img';
import { setCorruptBit, zeroRefcounts } from '../fixtures/storage/corrupt-qcow2';

const MiB = 2 ** 20;
let dir: string;
const children: ChildProcess[] = [];

async function rejection(promise: Promise<unknown>): Promise<EngineError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof EngineError) return error;
    throw error;
  }
  throw new Error('expected the promise to reject');
}

async function qemuIoWrite(path: string, pattern: number, offset: number, length: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = spawn('qemu-io', ['-f', 'qcow2', '-c', `write -P ${pattern} ${offset} ${length}`, path], { stdio: 'ignore' });
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`qemu-io exited ${code}`))));
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'virtdesk-qemu-img-'));
});
afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('locateQemuImg', () => {
  it('finds qemu-img on PATH, honours VIRTDESK_QEMU_IMG, and says how to install it when missing', async () => {
    expect(await locateQemuImg(process.env)).toMatch(/qemu-img$/);
    const missing = await rejection(locateQemuImg({ PATH: '/nonexistent' }));
    expect(missing.code).toBe('unavailable');
    expect(missing.hint).toMatch(/apt install qemu-utils/);
    const bad = await rejection(locateQemuImg({ VIRTDESK_QEMU_IMG: '/nonexistent/qemu-img', PATH: process.env.PATH }));
    expect(bad.code).toBe('unavailable');
    expect(bad.message).toMatch(/VIRTDESK_QEMU_IMG/);
  });
});

describe('create and info', () => {
  it('creates qcow2 with a cluster size and reads it back', async () => {
    const path = join(dir, 'a.qcow2');
    await createImage(path, { format: 'qcow2', sizeBytes: 64 * MiB, clusterSize: 128 * 1024, preallocation: 'metadata' });
    const info = await imageInfo(path);
    expect(info).toMatchObject({ format: 'qcow2', virtualSize: 64 * MiB, clusterSize: 128 * 1024, dirty: false, corrupt: false });
    expect(info.chain).toHaveLength(1);
    expect(info.actualSize).toBeGreaterThan(0);
  });

  it('creates raw with full preallocation', async () => {
    const path = join(dir, 'full.raw');
    await createImage(path, { format: 'raw', sizeBytes: 4 * MiB, preallocation: 'full' });
    const info = await imageInfo(path);
    expect(info.format).toBe('raw');
    expect(info.actualSize).toBeGreaterThanOrEqual(4 * MiB);
  });

  it('refuses to overwrite, and refuses options that make no sense, leaving no file', async () => {
    const path = join(dir, 'a.qcow2');
    const before = await readFile(path);
    expect((await rejection(createImage(path, { format: 'qcow2', sizeBytes: MiB }))).code).toBe('already-exists');
    expect(Buffer.compare(before, await readFile(path))).toBe(0);
    const cases = [
      createImage(join(dir, 'x1.raw'), { format: 'raw', sizeBytes: MiB, preallocation: 'metadata' }),
      createImage(join(dir, 'x2.qcow2'), { format: 'qcow2', sizeBytes: MiB, clusterSize: 3000 }),
      createImage(join(dir, 'x3.raw'), { format: 'raw', sizeBytes: MiB, clusterSize: 65536 }),
      createImage(join(dir, 'x4.qcow2'), { format: 'qcow2', backingFile: 'relative.qcow2', backingFormat: 'qcow2' }),
      createImage(join(dir, 'x5.qcow2'), { format: 'qcow2', backingFile: path }),
      createImage(join(dir, 'x6.qcow2'), { format: 'qcow2' }),
      createImage(join(dir, 'x7.qcow2'), { format: 'qcow2', sizeBytes: 0 }),
    ];
    for (const attempt of cases) expect((await rejection(attempt)).code).toBe('invalid-argument');
    expect((await readdir(dir)).filter((name) => name.startsWith('x') || name.startsWith('.'))).toEqual([]);
  });

  it('makes a linked clone whose backing chain info shows the base and its format', async () => {
    const base = join(dir, 'base.qcow2');
    await createImage(base, { format: 'qcow2', sizeBytes: 32 * MiB });
    const clone = join(dir, 'clone.qcow2');
    await createImage(clone, { format: 'qcow2', backingFile: base, backingFormat: 'qcow2' });
    const info = await imageInfo(clone);
    expect(info).toMatchObject({ backingFile: base, backingPath: base, backingFormat: 'qcow2', virtualSize: 32 * MiB });
    expect(info.chain.map((i) => i.path)).toEqual([clone, base]);
  });

  it('reports a missing file as not-found', async () => {
    const error = await rejection(imageInfo(join(dir, 'nope.qcow2')));
    expect(error.code).toBe('not-found');
  });
});

describe('resize', () => {
  it('grows; refuses to shrink qcow2 at all and raw without force; shrinks raw with force', async () => {
    const q = join(dir, 'r.qcow2');
    await createImage(q, { format: 'qcow2', sizeBytes: 16 * MiB });
    expect(await resizeImage(q, 32 * MiB)).toEqual({ previousSize: 16 * MiB, newSize: 32 * MiB, changed: true });
    expect((await imageInfo(q)).virtualSize).toBe(32 * MiB);
    const qShrink = await rejection(resizeImage(q, 8 * MiB, { force: true }));
    expect(qShrink.code).toBe('invalid-argument');
    expect(qShrink.message).toMatch(/qcow2 image, and only raw images can be made smaller/);

    const r = join(dir, 'r.raw');
    await createImage(r, { format: 'raw', sizeBytes: 16 * MiB });
    const rShrink = await rejection(resizeImage(r, 8 * MiB));
    expect(rShrink.message).toMatch(/would be lost/);
    expect((await imageInfo(r)).virtualSize).toBe(16 * MiB);
    await resizeImage(r, 8 * MiB, { force: true });
    expect((await imageInfo(r)).virtualSize).toBe(8 * MiB);
  });
});

describe('convert', () => {
  it('converts with progress events, and a cancelled convert leaves no output', async () => {
    const src = join(dir, 'data.qcow2');
    await createImage(src, { format: 'qcow2', sizeBytes: 64 * MiB });
    await qemuIoWrite(src, 0xab, 0, 48 * MiB);
    const events: ProgressEvent[] = [];
    const out = join(dir, 'data.raw');
    await convertImage(src, out, { sourceFormat: 'qcow2', targetFormat: 'raw', onProgress: (e) => events.push(e) });
    expect(events.length).toBeGreaterThan(2);
    expect(events.at(-1)?.percent).toBe(100);
    const percents = events.map((e) => e.percent);
    expect([...percents].sort((a, b) => a - b)).toEqual(percents);
    expect((await imageInfo(out)).format).toBe('raw');
    const bytes = await readFile(out);
    expect(bytes[0]).toBe(0xab);
    expect(bytes[48 * MiB]).toBe(0);

    const controller = new AbortController();
    const target = join(dir, 'cancelled.qcow2');
    const pending = convertImage(src, target, {
      sourceFormat: 'qcow2',
      targetFormat: 'qcow2',
      compress: true,
      signal: controller.signal,
      onProgress: (e) => {
        if (e.percent > 0 && !controller.signal.aborted) controller.abort();
      },
    });
    setTimeout(() => controller.abort(), 2000).unref();
    expect((await rejection(pending)).code).toBe('cancelled');
    expect((await readdir(dir)).filter((n) => n.includes('cancelled'))).toEqual([]);
  });
});

describe('check', () => {
  it('says what it found in a corrupt qcow2 and repairs it when asked', async () => {
    const path = join(dir, 'c.qcow2');
    await createImage(path, { format: 'qcow2', sizeBytes: 64 * MiB });
    await qemuIoWrite(path, 0xcd, 0, MiB);
    expect((await checkImage(path)).clean).toBe(true);
    await zeroRefcounts(path);
    const found = await checkImage(path);
    expect(found.clean).toBe(false);
    expect(found.corruptions).toBeGreaterThan(0);
    expect(found.findings.some((f) => /ERROR cluster \d+ refcount=0 reference=1/.test(f))).toBe(true);
    expect(found.summary).toMatch(/has \d+ errors \(data may be corrupted\)/);
    const repaired = await checkImage(path, { repair: 'all' });
    expect(repaired.corruptionsFixed).toBeGreaterThan(0);
    expect(repaired.summary).toMatch(/Repaired/);
    expect((await checkImage(path)).clean).toBe(true);
  });

  it('reports the corrupt flag and explains why writes are refused', async () => {
    const path = join(dir, 'flagged.qcow2');
    await createImage(path, { format: 'qcow2', sizeBytes: 16 * MiB });
    await setCorruptBit(path);
    expect((await imageInfo(path)).corrupt).toBe(true);
    const error = await rejection(resizeImage(path, 32 * MiB));
    expect(error.code).toBe('invalid-state');
    expect(error.message).toMatch(/marked corrupt/);
  });

  it('says raw images cannot be checked', async () => {
    const path = join(dir, 'plain.raw');
    await createImage(path, { format: 'raw', sizeBytes: MiB });
    const result = await checkImage(path, { format: 'raw' });
    expect(result.supported).toBe(false);
  });
});

describe('snapshots, rebase, commit, measure', () => {
  it('lists internal snapshots', async () => {
    const path = join(dir, 's.qcow2');
    await createImage(path, { format: 'qcow2', sizeBytes: 16 * MiB });
    expect(await listSnapshots(path)).toEqual([]);
    await runQemuImgOk('snapshot', ['snapshot', '-c', 'before-upgrade', path]);
    const snaps = await listSnapshots(path);
    expect(snaps).toHaveLength(1);
    expect(snaps[0]).toMatchObject({ id: '1', name: 'before-upgrade', vmStateSize: 0 });
    expect(Date.parse(snaps[0]?.date ?? '')).toBeGreaterThan(Date.now() - 60_000);
  });

  it('commits an overlay into its base, and rebases an overlay to standalone', async () => {
    const base = join(dir, 'cbase.qcow2');
    await createImage(base, { format: 'qcow2', sizeBytes: 16 * MiB });
    const top = join(dir, 'ctop.qcow2');
    await createImage(top, { format: 'qcow2', backingFile: base, backingFormat: 'qcow2' });
    await qemuIoWrite(top, 0x11, 0, MiB);
    const baseBefore = createHash('sha256').update(await readFile(base)).digest('hex');
    await commitImage(top);
    const baseAfter = createHash('sha256').update(await readFile(base)).digest('hex');
    expect(baseAfter).not.toBe(baseBefore);

    const top2 = join(dir, 'ctop2.qcow2');
    await createImage(top2, { format: 'qcow2', backingFile: base, backingFormat: 'qcow2' });
    await rebaseImage(top2, { backingFile: null });
    const info = await imageInfo(top2);
    expect(info.backingFile).toBeUndefined();
    expect(info.chain).toHaveLength(1);
    // The data committed into the base now lives in the standalone image.
    await rm(base);
    const raw = join(dir, 'ctop2.raw');
    await convertImage(top2, raw, { sourceFormat: 'qcow2', targetFormat: 'raw' });
    expect((await readFile(raw))[0]).toBe(0x11);
  });

  it('measures a new image and an existing one', async () => {
    const fresh = await measureImage({ targetFormat: 'qcow2', sizeBytes: 64 * MiB });
    expect(fresh.fullyAllocated).toBeGreaterThan(64 * MiB);
    expect(fresh.required).toBeLessThan(MiB);
    const src = join(dir, 'm.raw');
    await writeFile(src, Buffer.alloc(4 * MiB, 1));
    const existing = await measureImage({ targetFormat: 'qcow2', source: { path: src, format: 'raw' } });
    expect(existing.required).toBeGreaterThanOrEqual(4 * MiB);
  });
});

describe('an image in use by a running QEMU', () => {
  it('maps the lock failure to "in use by a running VM"; info still works', async () => {
    const path = join(dir, 'inuse.qcow2');
    await createImage(path, { format: 'qcow2', sizeBytes: 16 * MiB });
    const qemu = spawn(
      'qemu-system-x86_64',
      ['-nodefaults', '-no-user-config', '-S', '-display', 'none', '-accel', 'tcg', '-blockdev', `driver=file,filename=${path},node-name=f0`, '-blockdev', 'driver=qcow2,file=f0,node-name=d0', '-device', 'virtio-blk-pci,drive=d0'],
      { stdio: 'ignore' },
    );
    children.push(qemu);
    // Wait until QEMU holds the lock.
    const deadline = Date.now() + 30_000;
    let locked: EngineError | undefined;
    while (Date.now() < deadline) {
      try {
        await checkImage(path);
      } catch (error) {
        if (error instanceof EngineError && error.code === 'conflict') {
          locked = error;
          break;
        }
        throw error;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(locked?.message).toMatch(/in use by another program, most likely a running VM/);
    const resize = await rejection(resizeImage(path, 32 * MiB));
    expect(resize.code).toBe('conflict');
    expect((await imageInfo(path)).virtualSize).toBe(16 * MiB);
    expect((await stat(path)).size).toBeGreaterThan(0);
  });
});
