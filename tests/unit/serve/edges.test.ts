import { mkdir, symlink } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SESSION_ENDED_CLOSE_CODE } from '../../../main/serve/auth';
import { httpGet, startTestServe, type TestServe } from './serve-harness';

const serves: TestServe[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  for (const serve of serves.splice(0)) await serve.close();
});

async function serveWith(options: Parameters<typeof startTestServe>[0]): Promise<TestServe> {
  const serve = await startTestServe(options);
  serves.push(serve);
  return serve;
}

/** Opens a TCP connection and resolves once it is connected; `closed` tells whether the server has dropped it. */
function rawConnection(port: number, firstBytes?: string): Promise<{ socket: Socket; closed: () => boolean }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    sockets.push(socket);
    let closed = false;
    socket.on('close', () => (closed = true));
    socket.on('error', () => undefined);
    socket.once('connect', () => {
      if (firstBytes) socket.write(firstBytes);
      resolve({ socket, closed: () => closed });
    });
    socket.once('error', reject);
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('serve static files', () => {
  it('never follows a symlink out of the renderer root, and answers 404s with the security headers', async () => {
    const serve = await serveWith({});
    await symlink('/etc/passwd', join(serve.dir, 'passwd'));
    await mkdir(join(serve.dir, 'assets'));
    await symlink('/etc', join(serve.dir, 'assets', 'etc'));
    await symlink(join(serve.dir, 'index.html'), join(serve.dir, 'inside.html'));
    for (const path of ['/passwd', '/assets/etc/passwd', '/missing.js', '/%2e%2e/%2e%2e/etc/passwd']) {
      const reply = await serve.get(path, { cookie: serve.cookie });
      expect(reply.status, path).toBe(404);
      expect(reply.body).not.toMatch(/root:/);
      expect(reply.headers['content-security-policy'], path).toContain("default-src 'self'");
      expect(reply.headers['x-frame-options'], path).toBe('DENY');
      expect(reply.headers['x-content-type-options'], path).toBe('nosniff');
    }
    expect((await serve.get('/inside.html', { cookie: serve.cookie })).status).toBe(200);
    const unauthorized = await serve.get('/');
    expect(unauthorized.status).toBe(401);
    expect(unauthorized.headers['content-security-policy']).toContain("default-src 'self'");
  });
});

describe('serve connection limits', () => {
  it('refuses connections over the per-client limit at once, and closes half-open ones', async () => {
    const serve = await serveWith({ connectionLimits: { maxPerClient: 8, requestWithinMs: 2000 } });
    const rpc = await serve.openSocket();
    const held: Awaited<ReturnType<typeof rawConnection>>[] = [];
    for (let i = 0; i < 12; i++) held.push(await rawConnection(serve.port, i % 2 ? 'GET / HTTP/1.1\r\nHost: 127' : undefined));
    await sleep(100);
    // The /rpc socket (and the harness's kept-alive sign-in) plus at most 7 of these fit; the rest are refused on arrival.
    const open = held.filter((connection) => !connection.closed()).length;
    expect(open).toBeGreaterThan(0);
    expect(open).toBeLessThanOrEqual(7);
    expect(held.slice(-4).every((connection) => connection.closed())).toBe(true);
    await expect.poll(() => held.every((connection) => connection.closed()), { timeout: 6000 }).toBe(true);
    // A socket in use is not half-open: the /rpc connection lives on, and new requests are served.
    expect(rpc.readyState).toBe(rpc.OPEN);
    expect((await serve.get('/', { cookie: serve.cookie })).status).toBe(200);
    rpc.close();
  });

  it('lets 300 half-open sockets go within the request timeout, not 35 s', async () => {
    const serve = await serveWith({ connectionLimits: { maxPerClient: 400, requestWithinMs: 1000 } });
    const started = Date.now();
    const held = await Promise.all(Array.from({ length: 300 }, (_, i) => rawConnection(serve.port, i % 3 ? 'GET / HTTP/1.1\r\n' : undefined)));
    await expect.poll(() => held.filter((connection) => !connection.closed()).length, { timeout: 5000, interval: 100 }).toBe(0);
    expect(Date.now() - started).toBeLessThan(5000);
    expect((await serve.get('/', { cookie: serve.cookie })).status).toBe(200);
  });
});

describe('serve sessions', () => {
  it('end after at most maxAge, closing open sockets with a code the page recognises, and a new launch URL signs in', async () => {
    const urls: string[] = [];
    const serve = await serveWith({ sessions: { idleMs: 60_000, maxAgeMs: 3000 }, onLaunchUrl: (url) => urls.push(url) });
    const rpc = await serve.openSocket();
    const closed = new Promise<number>((resolve) => rpc.once('close', (code) => resolve(code)));
    expect((await serve.get('/', { cookie: serve.cookie })).status).toBe(200);
    expect(await closed).toBe(SESSION_ENDED_CLOSE_CODE);
    expect((await serve.get('/', { cookie: serve.cookie })).status).toBe(401);
    expect(urls).toHaveLength(1);
    const fresh = new URL(urls[0]!);
    const exchanged = await httpGet(serve.port, `${fresh.pathname}${fresh.search}`);
    expect(exchanged.status).toBe(303);
    expect(String(exchanged.headers['set-cookie'])).toMatch(/Max-Age=3\b/);
  });

  it('end after idleness, but not while a page holds a socket open', async () => {
    const serve = await serveWith({ sessions: { idleMs: 600, maxAgeMs: 60_000 } });
    const rpc = await serve.openSocket();
    await sleep(1200);
    expect(rpc.readyState).toBe(rpc.OPEN);
    expect((await serve.get('/', { cookie: serve.cookie })).status).toBe(200);
    rpc.close();
    await sleep(1200);
    expect((await serve.get('/', { cookie: serve.cookie })).status).toBe(401);
  });
});
