import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { checkListenPolicy } from '../../../main/serve/listener';
import type { RunningServer } from '../../../main/serve/server';
import { startTestServe, type TestServe } from './serve-harness';

let serve: TestServe;
let server: RunningServer;
let port: number;
let cookie: string;
const get = (path: string, headers: Record<string, string> = {}) => serve.get(path, headers);

/** Opens /rpc with the given headers; resolves 'open' or the refusal's HTTP status. */
function upgrade(headers: Record<string, string>): Promise<string> {
  return new Promise((resolve) => {
    const socket = new WebSocket(`ws://127.0.0.1:${port}/rpc`, { headers });
    socket.on('open', () => {
      socket.close();
      resolve('open');
    });
    socket.on('unexpected-response', (_req, res) => resolve(String(res.statusCode)));
    socket.on('error', () => resolve('error'));
  });
}

beforeAll(async () => {
  serve = await startTestServe();
  ({ server, port, cookie } = serve);
});

afterAll(async () => {
  await serve?.close();
});

describe('virtdesk serve security', () => {
  it('serves the UI with the session cookie, with a CSP', async () => {
    const reply = await get('/', { cookie });
    expect(reply.status).toBe(200);
    expect(reply.headers['content-security-policy']).toContain("default-src 'self'");
  });

  it('answers 401 without the cookie, for pages and files alike', async () => {
    expect((await get('/')).status).toBe(401);
    expect((await get('/index.html')).status).toBe(401);
    expect((await get('/', { cookie: 'virtdesk_session=forged' })).status).toBe(401);
  });

  it('sets an HttpOnly, SameSite=Strict session cookie', () => {
    expect(serve.setCookie).toMatch(/^virtdesk_session=[^;]+;.*HttpOnly/);
    expect(serve.setCookie).toMatch(/SameSite=Strict/);
  });

  it('refuses a token-less or reused launch URL', async () => {
    expect((await get('/?token=')).status).toBe(401);
    expect((await get(`/?token=${new URL(server.url).searchParams.get('token')}`)).status).toBe(401);
  });

  it('refuses a foreign Host header (DNS rebinding)', async () => {
    expect((await get('/', { cookie, host: `evil.example:${port}` })).status).toBe(403);
    expect((await get('/', { cookie, host: `127.0.0.1:${port + 1}` })).status).toBe(403);
  });

  it('does not let paths escape the renderer folder', async () => {
    expect((await get('/../../etc/passwd', { cookie })).status).toBe(404);
    expect((await get('/%2e%2e/%2e%2e/etc/passwd', { cookie })).status).toBe(404);
  });

  it('upgrades /rpc only with the cookie, our Origin and our Host', async () => {
    const origin = `http://127.0.0.1:${port}`;
    expect(await upgrade({ cookie, origin })).toBe('open');
    expect(await upgrade({ origin })).toBe('401');
    expect(await upgrade({ cookie, origin: 'http://evil.example' })).toBe('403');
    expect(await upgrade({ cookie })).toBe('403');
    expect(await upgrade({ cookie, origin, host: 'evil.example' })).toBe('403');
  });

  it('refuses to listen beyond loopback without --allow-remote and TLS', () => {
    expect(() => checkListenPolicy({ host: '0.0.0.0' })).toThrow(/only loopback/);
    expect(() => checkListenPolicy({ host: '0.0.0.0', allowRemote: true })).toThrow(/needs TLS/);
    expect(() => checkListenPolicy({ host: '0.0.0.0', allowRemote: true, tls: { certFile: 'c', keyFile: 'k' } })).not.toThrow();
    expect(() => checkListenPolicy({ host: '127.0.0.1' })).not.toThrow();
  });
});
