import { spawn } from 'node:child_process';
import { lstat, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { OutputHistory } from '../../../engine/vm/supervision/serial-mux/output-history';
import { connectSerialConsole, serialConsoleEndpoint } from '../../../engine/vm/supervision/serial-mux/serial-console';
import { SerialMux, type SerialMuxOptions } from '../../../engine/vm/supervision/serial-mux/serial-mux';
import { claimSocketPath } from '../../../engine/vm/supervision/serial-mux/socket-file';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'vd-mux-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** QEMU's serial chardev in miniature: one client at a time, the rest wait. */
class FakeUpstream {
  readonly received: Buffer[] = [];
  socket: Socket | undefined;
  readonly #connected: Promise<Socket>;
  private constructor(readonly server: Server, connected: Promise<Socket>) {
    this.#connected = connected;
  }

  static async listen(path: string): Promise<FakeUpstream> {
    let resolveSocket!: (socket: Socket) => void;
    const connected = new Promise<Socket>((resolve) => (resolveSocket = resolve));
    const server = createServer();
    const fake = new FakeUpstream(server, connected);
    server.maxConnections = 1;
    server.on('connection', (socket) => {
      fake.socket = socket;
      socket.on('data', (bytes: Buffer) => fake.received.push(bytes));
      socket.on('error', () => undefined);
      resolveSocket(socket);
    });
    await new Promise<void>((resolve) => server.listen(path, resolve));
    cleanups.push(() => fake.stop());
    return fake;
  }

  connected(): Promise<Socket> {
    return this.#connected;
  }

  text(): string {
    return Buffer.concat(this.received).toString('utf8');
  }

  async stop(): Promise<void> {
    this.socket?.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

interface Viewer {
  socket: Socket;
  chunks: Buffer[];
  closed: Promise<void>;
  text(): string;
  bytes(): number;
}

function viewer(path: string, options: { paused?: boolean } = {}): Promise<Viewer> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    const chunks: Buffer[] = [];
    const closed = new Promise<void>((done) => socket.on('close', () => done()));
    socket.on('error', () => undefined);
    if (options.paused) socket.pause();
    else socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.once('connect', () =>
      resolve({
        socket,
        chunks,
        closed,
        text: () => Buffer.concat(chunks).toString('utf8'),
        bytes: () => chunks.reduce((sum, chunk) => sum + chunk.length, 0),
      }),
    );
    socket.once('error', reject);
    cleanups.push(() => void socket.destroy());
  });
}

async function until(what: string, check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function setup(options: Partial<SerialMuxOptions> = {}) {
  const dir = await tempDir();
  const upstreamPath = join(dir, 'serial.sock');
  const listenPath = join(dir, 'serial-mux.sock');
  const upstream = await FakeUpstream.listen(upstreamPath);
  const notes: string[] = [];
  const mux = await SerialMux.open({ upstreamPath, listenPath, onNote: (note) => notes.push(note), ...options });
  cleanups.push(() => mux.close());
  const guest = await upstream.connected();
  return { dir, upstreamPath, listenPath, upstream, guest, mux, notes };
}

describe('serial console multiplexer', () => {
  it('broadcasts guest output to every viewer and sends any viewer’s input to the guest', async () => {
    const { listenPath, upstream, guest, mux } = await setup();
    const a = await viewer(listenPath);
    const b = await viewer(listenPath);
    const c = await viewer(listenPath);
    await until('three viewers', () => mux.clientCount === 3);
    guest.write('login: ');
    await until('output on all three', () => [a, b, c].every((v) => v.text() === 'login: '));
    a.socket.write('echo $((6*7))\n');
    c.socket.write('x');
    await until('input upstream', () => upstream.text().includes('echo $((6*7))\n') && upstream.text().includes('x'));
    guest.write('42\r\n');
    await until('the answer on all three', () => [a, b, c].every((v) => v.text() === 'login: 42\r\n'));
    // A viewer leaving changes nothing for the others.
    b.socket.destroy();
    await until('two viewers', () => mux.clientCount === 2);
    guest.write('more');
    await until('output after one left', () => a.text().endsWith('more') && c.text().endsWith('more'));
  });

  it('gives a late viewer the last ~4 KiB first, starting at a line, then the live stream, nothing doubled', async () => {
    const { listenPath, guest, mux } = await setup({ historyBytes: 4096 });
    const early = await viewer(listenPath);
    await until('one viewer', () => mux.clientCount === 1);
    const lines = Array.from({ length: 400 }, (_, i) => `line ${String(i).padStart(4, '0')} of the boot\r\n`);
    guest.write(lines.join(''));
    await until('all lines on the early viewer', () => early.text() === lines.join(''));
    const late = await viewer(listenPath);
    await until('the replay', () => late.text().includes('line 0399'));
    const replay = late.text();
    expect(Buffer.byteLength(replay)).toBeLessThanOrEqual(4096);
    expect(Buffer.byteLength(replay)).toBeGreaterThan(3500);
    expect(replay.startsWith('line ')).toBe(true);
    expect(lines.join('').endsWith(replay)).toBe(true);
    guest.write('live\r\n');
    await until('live output', () => late.text().endsWith('live\r\n'));
    expect(late.text()).toBe(`${replay}live\r\n`);
  });

  it('seeds the replay from QEMU’s serial log when it starts after the guest printed', async () => {
    const dir = await tempDir();
    const logPath = join(dir, 'serial.log');
    await writeFile(logPath, `${'x'.repeat(10_000)}\nVIRTDESK-READY ip=10.0.2.15\r\nvirtdesk-guest# `);
    const upstreamPath = join(dir, 'serial.sock');
    const upstream = await FakeUpstream.listen(upstreamPath);
    const mux = await SerialMux.open({ upstreamPath, listenPath: join(dir, 'mux.sock'), logPath });
    cleanups.push(() => mux.close());
    const guest = await upstream.connected();
    const v = await viewer(join(dir, 'mux.sock'));
    await until('the replay', () => v.text().endsWith('virtdesk-guest# '));
    expect(v.text()).toBe('VIRTDESK-READY ip=10.0.2.15\r\nvirtdesk-guest# ');
    guest.write('ls\r\n');
    await until('live output', () => v.text().endsWith('ls\r\n'));
  });

  it('drops a viewer that stops reading, without stalling the other viewers or the guest', async () => {
    const { listenPath, guest, mux, notes } = await setup({ maxClientBufferBytes: 64 * 1024, historyBytes: 0 });
    const slow = await viewer(listenPath, { paused: true });
    const fast = await viewer(listenPath);
    await until('two viewers', () => mux.clientCount === 2);
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    const total = 128 * chunk.length; // 8 MiB: far beyond what the kernel buffers for the slow one
    const started = Date.now();
    let written = 0;
    // Write as the guest's UART would: the mux must keep reading, so drain keeps coming.
    while (written < total) {
      if (!guest.write(chunk)) await new Promise((resolve) => guest.once('drain', resolve));
      written += chunk.length;
    }
    await until('everything at the fast viewer', () => fast.bytes() === total, 15_000);
    const elapsed = Date.now() - started;
    expect(elapsed).toBeLessThan(10_000);
    expect(mux.clientCount).toBe(1);
    expect(notes.some((note) => /dropped serial console viewer #1: it fell more than 64 KiB behind/.test(note))).toBe(true);
    // The mux let go of the dropped one: once it reads again it finds the connection closed.
    slow.socket.resume();
    await slow.closed;
    // The guest still talks to the remaining viewer.
    guest.write('still here');
    await until('output after the drop', () => fast.text().endsWith('still here'));
  });

  it('closes every viewer and removes its socket when the guest side (QEMU) goes away', async () => {
    const { listenPath, upstream, mux } = await setup();
    const a = await viewer(listenPath);
    const b = await viewer(listenPath);
    await until('two viewers', () => mux.clientCount === 2);
    await upstream.stop();
    expect(await mux.closed).toBe('upstream-closed');
    await Promise.all([a.closed, b.closed]);
    expect(await lstat(listenPath).catch(() => undefined)).toBeUndefined();
  });

  it('close() ends viewers with what was already sent, and removes only its own socket file', async () => {
    const { listenPath, upstreamPath, guest, mux, upstream } = await setup();
    const a = await viewer(listenPath);
    await until('one viewer', () => mux.clientCount === 1);
    guest.write('bye\r\n');
    await until('output', () => a.text() === 'bye\r\n');
    await mux.close();
    await a.closed;
    expect(await mux.closed).toBe('closed');
    expect(await lstat(listenPath).catch(() => undefined)).toBeUndefined();
    // A successor's socket at the same path survives a late close of the old one.
    await upstream.stop();
    const upstream2 = await FakeUpstream.listen(upstreamPath);
    const successor = await SerialMux.open({ upstreamPath, listenPath });
    cleanups.push(() => successor.close());
    await upstream2.connected();
    await mux.close();
    expect((await lstat(listenPath)).isSocket()).toBe(true);
  });

  it('replaces a stale socket file left by a killed supervisor, and refuses to take over a live one or a plain file', async () => {
    const dir = await tempDir();
    const listenPath = join(dir, 'serial-mux.sock');
    // A process that listened and was killed: its socket file stays, nobody accepts.
    const child = spawn(process.execPath, ['-e', `require('node:net').createServer().listen(${JSON.stringify(listenPath)}, () => console.log('up'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise((resolve) => child.stdout.once('data', resolve));
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    expect((await lstat(listenPath)).isSocket()).toBe(true);
    const upstreamPath = join(dir, 'serial.sock');
    const upstream = await FakeUpstream.listen(upstreamPath);
    const mux = await SerialMux.open({ upstreamPath, listenPath });
    cleanups.push(() => mux.close());
    const guest = await upstream.connected();
    const v = await viewer(listenPath);
    guest.write('back');
    await until('output through the new mux', () => v.text() === 'back');

    await expect(claimSocketPath(listenPath)).rejects.toMatchObject({ code: 'conflict', message: expect.stringContaining('Another process already serves') });
    const plain = join(dir, 'plain');
    await writeFile(plain, 'keep me');
    await expect(claimSocketPath(plain)).rejects.toMatchObject({ code: 'conflict', message: expect.stringContaining('not a socket') });
    expect((await lstat(plain)).isFile()).toBe(true);
  });

  it('refuses a listening path longer than a unix socket allows', async () => {
    await expect(SerialMux.open({ upstreamPath: '/nonexistent', listenPath: `/tmp/${'x'.repeat(120)}` })).rejects.toMatchObject({ code: 'invalid-argument' });
  });

  it('fails plainly when the upstream socket cannot be reached', async () => {
    const dir = await tempDir();
    await expect(SerialMux.open({ upstreamPath: join(dir, 'serial.sock'), listenPath: join(dir, 'mux.sock'), connectTimeoutMs: 200 })).rejects.toMatchObject({
      code: 'unavailable',
      message: expect.stringContaining('Cannot reach the serial console socket'),
    });
    expect(await lstat(join(dir, 'mux.sock')).catch(() => undefined)).toBeUndefined();
  });
});

describe('finding the serial console', () => {
  it('uses the multiplexer when it accepts, and QEMU’s socket when no supervisor runs or its socket is stale', async () => {
    const { dir, upstreamPath, listenPath, mux } = await setup();
    const paths = { serialSocket: upstreamPath, serialMuxSocket: listenPath };
    expect(await serialConsoleEndpoint(paths)).toEqual({ path: listenPath, shared: true });
    const { socket, shared } = await connectSerialConsole(paths);
    expect(shared).toBe(true);
    socket.destroy();
    await mux.close();
    expect(await serialConsoleEndpoint(paths)).toEqual({ path: upstreamPath, shared: false });
    // A stale file at the mux path (supervisor killed) is no obstacle.
    const child = spawn(process.execPath, ['-e', `require('node:net').createServer().listen(${JSON.stringify(listenPath)}, () => console.log('up'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise((resolve) => child.stdout.once('data', resolve));
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    const direct = await connectSerialConsole(paths);
    expect(direct).toMatchObject({ path: upstreamPath, shared: false });
    direct.socket.destroy();
    expect(dir).toBeTruthy();
  });
});

describe('output history', () => {
  it('keeps at most the limit and cuts at a line break when it had to cut', () => {
    const history = new OutputHistory(16);
    history.push(Buffer.from('abc\n'));
    expect(history.snapshot().toString()).toBe('abc\n');
    history.push(Buffer.from('0123456789\nxyz'));
    // 18 bytes → last 16 = 'c\n0123456789\nxyz' → after the first line break.
    expect(history.snapshot().toString()).toBe('0123456789\nxyz');
    for (let i = 0; i < 100; i++) history.push(Buffer.from('ab'));
    expect(history.snapshot().toString()).toBe('ab'.repeat(8));
    history.push(Buffer.from('\nnew line'));
    expect(history.snapshot().toString()).toBe('new line');
    const seeded = new OutputHistory(16);
    seeded.seed(Buffer.from('tail of a line\nnext'), true);
    expect(seeded.snapshot().toString()).toBe('next');
    expect(new OutputHistory(0).snapshot().length).toBe(0);
  });
});
