import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EngineError } from '../../engine/api/errors';
import { downloadFile, partialPathOf, type DownloadProgress } from '../../engine/storage/download/download';
import { IsoLibrary } from '../../engine/storage/iso/iso-library';
import { createImage } from '../../engine/storage/qemu-img';
import { StorageService } from '../../engine/storage/storage-service';
import { startFlakyServer, type FlakyServer } from '../fixtures/storage/flaky-server';

const run = promisify(execFile);
let dir: string;
let server: FlakyServer;
const payload = randomBytes(3 * 1024 * 1024);
const payloadSha = createHash('sha256').update(payload).digest('hex');
let qcow2: Buffer;
let iso: Buffer;

async function rejection(promise: Promise<unknown>): Promise<EngineError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof EngineError) return error;
    throw error;
  }
  throw new Error('expected the promise to reject');
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'virtdesk-download-'));
  await createImage(join(dir, 'src.qcow2'), { format: 'qcow2', sizeBytes: 16 * 2 ** 20 });
  qcow2 = await readFile(join(dir, 'src.qcow2'));
  await mkdir(join(dir, 'tree'));
  await writeFile(join(dir, 'tree', 'x.txt'), 'x');
  await run('xorriso', ['-as', 'mkisofs', '-quiet', '-V', 'Debian 11.9.0 amd64 n', '-o', join(dir, 'src.iso'), join(dir, 'tree')]);
  iso = await readFile(join(dir, 'src.iso'));
  server = await startFlakyServer({
    '/big.bin': { body: payload, dropOnceAfter: 1024 * 1024 },
    '/again.bin': { body: payload },
    '/slow.bin': { body: payload, throttle: 16 * 1024 },
    '/disk.qcow2': { body: qcow2, dropOnceAfter: 100_000 },
    '/notes.txt': { body: Buffer.from('not an image\n') },
    '/debian.iso': { body: iso, dropOnceAfter: 40_000 },
    '/bad.iso': { body: iso },
  });
});
afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('downloadFile', () => {
  it('reports progress and resumes with a Range request after the server drops the connection', async () => {
    const events: DownloadProgress[] = [];
    const target = join(dir, 'big.bin');
    const result = await downloadFile({ url: server.url('/big.bin'), target, sha256: payloadSha, retryDelayMs: 10, onProgress: (e) => events.push(e) });
    expect(result).toMatchObject({ bytes: payload.length, sha256: payloadSha, resumes: 1 });
    expect(Buffer.compare(await readFile(target), payload)).toBe(0);
    const ranges = server.requests.filter((r) => r.path === '/big.bin').map((r) => r.headers.range);
    expect(ranges[0]).toBeUndefined();
    expect(ranges[1]).toMatch(/^bytes=\d+-$/);
    expect(Number(/=(\d+)-/.exec(ranges[1] ?? '')?.[1])).toBeGreaterThan(0);
    expect(events.at(-1)).toMatchObject({ receivedBytes: payload.length, totalBytes: payload.length, percent: 100 });
    expect(events.some((e) => e.resumes === 1 && (e.percent ?? 0) < 100)).toBe(true);
    expect((await readdir(dir)).filter((n) => n.endsWith('.part'))).toEqual([]);
  });

  it('removes the partial file and publishes nothing when the checksum does not match', async () => {
    const target = join(dir, 'mismatch.bin');
    const error = await rejection(downloadFile({ url: server.url('/again.bin'), target, sha256: 'ab'.repeat(32) }));
    expect(error.code).toBe('invalid-state');
    expect(error.message).toMatch(/does not match its checksum: expected SHA-256 abab.*, got [0-9a-f]{64}\. The partial file was removed/);
    expect((await readdir(dir)).filter((n) => n.includes('mismatch'))).toEqual([]);
  });

  it('cancels: the transfer stops and the partial file is removed', async () => {
    const controller = new AbortController();
    const target = join(dir, 'slow.bin');
    const pending = downloadFile({
      url: server.url('/slow.bin'),
      target,
      signal: controller.signal,
      onProgress: (e) => {
        if (e.receivedBytes > 64 * 1024) controller.abort();
      },
    });
    const error = await rejection(pending);
    expect(error.code).toBe('cancelled');
    expect((await readdir(dir)).filter((n) => n.includes('slow'))).toEqual([]);
  });

  it('picks up a partial file left by an earlier run', async () => {
    const target = join(dir, 'again.bin');
    await writeFile(partialPathOf(target), payload.subarray(0, 500_000));
    const result = await downloadFile({ url: server.url('/again.bin'), target, sha256: payloadSha });
    expect(result.resumes).toBe(1);
    expect(server.requests.filter((r) => r.path === '/again.bin').at(-1)?.headers.range).toBe('bytes=500000-');
  });

  it('refuses bad input before touching anything', async () => {
    expect((await rejection(downloadFile({ url: 'file:///etc/passwd', target: join(dir, 'p') }))).code).toBe('invalid-argument');
    expect((await rejection(downloadFile({ url: 'not a url', target: join(dir, 'p') }))).code).toBe('invalid-argument');
    expect((await rejection(downloadFile({ url: server.url('/big.bin'), target: join(dir, 'p'), sha256: 'xyz' }))).code).toBe('invalid-argument');
    expect((await rejection(downloadFile({ url: server.url('/big.bin'), target: join(dir, 'big.bin') }))).code).toBe('already-exists');
    const missing = await rejection(downloadFile({ url: server.url('/missing.bin'), target: join(dir, 'm') }));
    expect(missing.code).toBe('not-found');
    expect(missing.message).toMatch(/HTTP 404/);
  });

  it('follows redirects', async () => {
    const result = await downloadFile({ url: server.url('/redirect/again.bin'), target: join(dir, 'redirected.bin'), sha256: payloadSha });
    expect(result.bytes).toBe(payload.length);
  });
});

describe('downloads into a pool and the ISO library', () => {
  it('downloads a disk image into a pool (resuming) and refuses a file that is no image', async () => {
    const storage = new StorageService({ home: join(dir, 'home') });
    const sha = createHash('sha256').update(qcow2).digest('hex');
    const { volume } = await storage.downloadVolume({ pool: 'default', url: server.url('/disk.qcow2'), sha256: sha });
    expect(volume).toMatchObject({ name: 'disk.qcow2', format: 'qcow2', virtualSize: 16 * 2 ** 20 });
    const error = await rejection(storage.downloadVolume({ pool: 'default', url: server.url('/notes.txt') }));
    expect(error.message).toMatch(/does not look like a disk image/);
    expect((await storage.listVolumes('default')).map((v) => v.name)).toEqual(['disk.qcow2']);
    expect(await readdir(join(dir, 'home', 'images'))).toEqual(['disk.qcow2']);
  });

  it('downloads an ISO into the library; a checksum mismatch leaves the library unchanged', async () => {
    const library = new IsoLibrary({ home: join(dir, 'home') });
    const entry = await library.download({ url: server.url('/debian.iso'), sha256: createHash('sha256').update(iso).digest('hex') });
    expect(entry).toMatchObject({ name: 'debian.iso', path: join(dir, 'home', 'isos', 'debian.iso'), detection: { osId: 'debian11' } });
    const before = await library.list();
    const error = await rejection(library.download({ url: server.url('/bad.iso'), sha256: '0'.repeat(64) }));
    expect(error.message).toMatch(/does not match its checksum/);
    expect(await library.list()).toEqual(before);
    expect(await readdir(join(dir, 'home', 'isos'))).toEqual(['debian.iso']);
  });
});
