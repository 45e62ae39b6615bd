import { readFile } from 'node:fs/promises';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { EngineError } from '../../engine/api/errors';
import { serveRpc } from '../../engine/api/rpc-server';
import { virtdeskContract } from '../../engine/api/virtdesk-api';
import type { Engine } from '../../engine/engine';
import { CONTENT_SECURITY_POLICY } from '../content-security-policy';
import { SessionAuth } from './auth';
import { pipeWebSocketToUnixSocket } from './console-stream';
import type { ConsoleTickets } from './console-tickets';
import { loopbackNames, OriginPolicy } from './origin';
import { serveStatic } from './static-files';
import { MAX_WEBSOCKET_FRAME_BYTES, wsTransport } from './ws-transport';

export interface ServeOptions {
  engine: Engine;
  /** Shared with the engine, which issues them from vms.openConsole. */
  consoleTickets: ConsoleTickets;
  /** Folder of the built renderer (index.html and assets/). */
  rendererRoot: string;
  host: string;
  port: number;
  allowRemote?: boolean;
  tls?: { certFile: string; keyFile: string };
  log?: (line: string) => void;
}

export interface RunningServer {
  /** The launch URL with its one-time token. */
  url: string;
  origin: string;
  auth: SessionAuth;
  close(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);


const SECURITY_HEADERS = {
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
};

/** Checks the listening address against the remote-access rules before anything binds. */
export function checkListenPolicy(options: Pick<ServeOptions, 'host' | 'allowRemote' | 'tls'>): void {
  if (LOOPBACK.has(options.host)) return;
  if (!options.allowRemote) {
    throw new EngineError('permission-denied', `Refusing to listen on ${options.host}: only loopback is served by default.`, {
      hint: 'Pass --allow-remote with --tls-cert and --tls-key to serve other machines, or use --host 127.0.0.1.',
    });
  }
  if (!options.tls) {
    throw new EngineError('invalid-argument', `Serving ${options.host} to other machines needs TLS.`, {
      hint: 'Pass --tls-cert FILE and --tls-key FILE.',
    });
  }
}

export async function startServer(options: ServeOptions): Promise<RunningServer> {
  checkListenPolicy(options);
  const log = options.log ?? (() => {});
  const auth = new SessionAuth();
  const secure = options.tls !== undefined;
  const scheme = secure ? 'https' : 'http';
  // Known only once listening: with --port 0 the port is picked by the kernel.
  const allowed: { policy?: OriginPolicy } = {};

  const handler = (request: IncomingMessage, response: ServerResponse) => {
    handleRequest(request, response).catch((error: unknown) => {
      log(`request ${request.url} failed: ${String(error)}`);
      if (!response.headersSent) response.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' });
      response.end('Internal error\n');
    });
  };

  async function handleRequest(request: IncomingMessage, response: ServerResponse) {
    if (!allowed.policy?.hostAllowed(request.headers.host)) {
      return deny(response, 403, 'This Virtdesk server does not answer to that host name.\n');
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') return deny(response, 405, 'Method not allowed\n');
    const url = new URL(request.url ?? '/', `${scheme}://${request.headers.host}`);
    if (url.searchParams.has('token')) {
      const session = auth.exchange(url.searchParams.get('token'));
      if (!session) return deny(response, 401, unauthorizedText);
      response.writeHead(303, { ...SECURITY_HEADERS, 'Set-Cookie': auth.cookieFor(session, secure), Location: '/' });
      return response.end();
    }
    if (!auth.sessionOf(request.headers.cookie)) return deny(response, 401, unauthorizedText);
    await serveStatic(options.rendererRoot, url.pathname, response, SECURITY_HEADERS);
  }

  const server: Server = secure
    ? createHttpsServer({ cert: await readFile(options.tls!.certFile), key: await readFile(options.tls!.keyFile) }, handler)
    : createHttpServer(handler);

  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_WEBSOCKET_FRAME_BYTES });
  let connections = 0;
  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    // Node's HTTP server lets go of an upgraded socket: without a listener, a reset peer would be an uncaught error.
    socket.on('error', (error) => log(`WebSocket connection to ${request.url} failed: ${error.message}`));
    const refuse = (status: number, reason: string) => {
      log(`refused WebSocket upgrade to ${request.url}: ${reason}`);
      socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    if (!allowed.policy?.hostAllowed(request.headers.host)) return refuse(403, 'Host not allowed');
    if (!allowed.policy.originAllowed(request.headers.origin)) return refuse(403, 'Origin not allowed');
    const session = auth.sessionOf(request.headers.cookie);
    if (!session) return refuse(401, 'Unauthorized');
    const url = new URL(request.url ?? '/', 'http://x');
    if (url.pathname === '/console') {
      const target = options.consoleTickets.redeem(url.searchParams.get('ticket'), session);
      if (!target) return refuse(403, 'Console ticket invalid, used or expired');
      wss.handleUpgrade(request, socket, head, (ws) => {
        ws.on('error', (error) => log(`console connection closed after a malformed WebSocket frame: ${error.message}`));
        pipeWebSocketToUnixSocket(ws, target.socketPath, log);
      });
      return;
    }
    if (url.pathname !== '/rpc') return refuse(404, 'Not Found');
    const connectionId = `ws-${++connections}`;
    wss.handleUpgrade(request, socket, head, (ws) => {
      const transport = wsTransport(ws, log);
      serveRpc(virtdeskContract, options.engine.implementation, options.engine.bus, transport, {
        peer: { connectionId, session },
        onProtocolError: (problem) => log(`RPC protocol error: ${problem}`),
      });
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE') {
        reject(new EngineError('conflict', `Port ${options.port} on ${options.host} is already in use.`, { hint: 'Pass another --port, or --port 0 to pick a free one.' }));
      } else reject(error);
    });
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const names = loopbackNames(options.host);
  allowed.policy = new OriginPolicy(names, port, scheme);
  const displayHost = LOOPBACK.has(options.host) ? '127.0.0.1' : names[names.length - 1]!;
  const origin = `${scheme}://${displayHost}:${port}`;

  return {
    url: `${origin}/?token=${auth.token}`,
    origin,
    auth,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close();
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

const unauthorizedText =
  'Not signed in. Open the URL that `virtdesk serve` printed: it carries a one-time token.\n' +
  'If that URL was already used, restart `virtdesk serve` to get a new one.\n';

function deny(response: ServerResponse, status: number, text: string): void {
  response.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': 'text/plain; charset=utf-8' });
  response.end(text);
}
