import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { createEngine, type Engine } from '../../../engine/engine';
import { forkWorkerFactory } from '../../../engine/vm/supervision/worker';
import { ConsoleTickets } from '../../../main/serve/console-tickets';
import { startServer, type RunningServer, type ServeOptions } from '../../../main/serve/server';

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A real engine in a temp home behind a real serve on a free loopback port, signed in once. */
export interface TestServe {
  dir: string;
  engine: Engine;
  consoleTickets: ConsoleTickets;
  server: RunningServer;
  port: number;
  origin: string;
  /** `virtdesk_session=…`, from exchanging the launch token. */
  cookie: string;
  /** The whole Set-Cookie header of that exchange. */
  setCookie: string;
  lines: string[];
  get(path: string, headers?: Record<string, string>): Promise<Reply>;
  /** A signed-in WebSocket to `path` (default /rpc), open. */
  openSocket(path?: string): Promise<WebSocket>;
  close(): Promise<void>;
}

export async function startTestServe(options: Partial<Omit<ServeOptions, 'engine' | 'consoleTickets' | 'log'>> = {}): Promise<TestServe> {
  const dir = await mkdtemp(join(tmpdir(), 'virtdesk-serve-'));
  await writeFile(join(dir, 'index.html'), '<!doctype html><title>ok</title>');
  const consoleTickets = new ConsoleTickets();
  const lines: string[] = [];
  const engine = await createEngine({
    home: join(dir, 'home'),
    hostKind: 'serve',
    workers: forkWorkerFactory({ execArgv: ['--import', 'tsx'] }),
    supervisorEntry: fileURLToPath(new URL('../../../engine/vm/supervision/supervisor-main.ts', import.meta.url)),
    consoles: consoleTickets,
    log: (line) => lines.push(line),
  });
  const server = await startServer({ engine, consoleTickets, rendererRoot: dir, host: '127.0.0.1', port: 0, log: (line) => lines.push(line), ...options });
  const port = Number(new URL(server.origin).port);
  const origin = `http://127.0.0.1:${port}`;
  const get = (path: string, headers: Record<string, string> = {}) => httpGet(port, path, headers);
  const exchanged = await get(`/?token=${new URL(server.url).searchParams.get('token')}`);
  if (exchanged.status !== 303) throw new Error(`the launch token was not exchanged: HTTP ${exchanged.status}`);
  const setCookie = String(exchanged.headers['set-cookie']);
  const cookie = setCookie.split(';')[0]!;
  return {
    dir,
    engine,
    consoleTickets,
    server,
    port,
    origin,
    cookie,
    setCookie,
    lines,
    get,
    openSocket: (path = '/rpc') =>
      new Promise((resolve, reject) => {
        const socket = new WebSocket(`ws://127.0.0.1:${port}${path}`, { headers: { cookie, origin } });
        socket.once('open', () => resolve(socket));
        socket.once('error', reject);
      }),
    async close() {
      await server.close();
      await engine.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export function httpGet(port: number, path: string, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { host: `127.0.0.1:${port}`, ...headers } }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}
