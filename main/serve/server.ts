import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { serveRpc } from '../../engine/api/rpc-server';
import { virtdeskContract } from '../../engine/api/virtdesk-api';
import type { Engine } from '../../engine/engine';
import type { Socket } from 'node:net';
import { SessionAuth, type SessionLifetime } from './auth';
import { DEFAULT_CONNECTION_LIMITS, limitConnections, type ConnectionLimits } from './connection-limits';
import { pipeWebSocketToUnixSocket } from './console-stream';
import type { ConsoleTickets } from './console-tickets';
import { listen, type ListenOptions, type Listener } from './listener';
import { answer, SECURITY_HEADERS } from './security-headers';
import { serveStatic } from './static-files';
import { MAX_WEBSOCKET_FRAME_BYTES, wsTransport } from './ws-transport';

export interface ServeOptions extends ListenOptions {
  engine: Engine;
  /** Shared with the engine, which issues them from vms.openConsole. */
  consoleTickets: ConsoleTickets;
  /** Folder of the built renderer (index.html and assets/). */
  rendererRoot: string;
  /** Already bound by `listen` (serve binds before its engine starts); otherwise bound here. */
  listener?: Listener;
  connectionLimits?: Partial<ConnectionLimits>;
  /** Default: 30 minutes unused, 12 hours at most. */
  sessions?: SessionLifetime;
  /** Told each fresh launch URL made after start-up (a session ended), to print where the user sees it. */
  onLaunchUrl?: (url: string, why: string) => void;
  log?: (line: string) => void;
}

export interface RunningServer {
  /** The launch URL with its one-time token. */
  url: string;
  origin: string;
  auth: SessionAuth;
  /** A fresh one-time launch URL (the previous unused one stops working). */
  newLaunchUrl(): string;
  close(): Promise<void>;
}

export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const listener = options.listener ?? (await listen(options));
  const { server, secure, policy } = listener;
  const log = options.log ?? (() => {});
  const scheme = secure ? 'https' : 'http';
  const newLaunchUrl = () => `${listener.origin}/?token=${auth.rotateToken()}`;
  const auth = new SessionAuth({
    ...(options.sessions ? { lifetime: options.sessions } : {}),
    onEnded: (count) => {
      log(`${count === 1 ? 'a browser session' : `${count} browser sessions`} ended (unused or too old)`);
      options.onLaunchUrl?.(newLaunchUrl(), 'A browser session ended');
    },
  });
  const connections = limitConnections(server, secure, { ...DEFAULT_CONNECTION_LIMITS, ...options.connectionLimits }, log);
  const lifetime = auth.lifetime;
  const sweep = setInterval(() => auth.expire(), Math.max(250, Math.min(60_000, lifetime.idleMs / 4, lifetime.maxAgeMs / 4)));
  sweep.unref();

  const handler = (request: IncomingMessage, response: ServerResponse) => {
    connections.inUse(request.socket);
    handleRequest(request, response).catch((error: unknown) => {
      log(`request ${request.url} failed: ${String(error)}`);
      if (!response.headersSent) answer(response, 500, 'Internal error\n');
      else response.end();
    });
  };

  async function handleRequest(request: IncomingMessage, response: ServerResponse) {
    if (!policy.hostAllowed(request.headers.host)) {
      return answer(response, 403, 'This Virtdesk server does not answer to that host name.\n');
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') return answer(response, 405, 'Method not allowed\n');
    const url = new URL(request.url ?? '/', `${scheme}://${request.headers.host}`);
    if (url.searchParams.has('token')) {
      const session = auth.exchange(url.searchParams.get('token'));
      if (!session) return answer(response, 401, unauthorizedText);
      response.writeHead(303, { ...SECURITY_HEADERS, 'Set-Cookie': auth.cookieFor(session, secure), Location: '/' });
      return response.end();
    }
    if (!auth.sessionOf(request.headers.cookie)) return answer(response, 401, unauthorizedText);
    await serveStatic(options.rendererRoot, url.pathname, response, SECURITY_HEADERS);
  }

  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_WEBSOCKET_FRAME_BYTES });
  let rpcConnections = 0;
  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    connections.inUse(socket as Socket);
    // Node's HTTP server lets go of an upgraded socket: without a listener, a reset peer would be an uncaught error.
    socket.on('error', (error) => log(`WebSocket connection to ${request.url} failed: ${error.message}`));
    const refuse = (status: number, reason: string) => {
      log(`refused WebSocket upgrade to ${request.url}: ${reason}`);
      socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    if (!policy.hostAllowed(request.headers.host)) return refuse(403, 'Host not allowed');
    if (!policy.originAllowed(request.headers.origin)) return refuse(403, 'Origin not allowed');
    const session = auth.sessionOf(request.headers.cookie);
    if (!session) return refuse(401, 'Unauthorized');
    const url = new URL(request.url ?? '/', 'http://x');
    if (url.pathname === '/console') {
      const target = options.consoleTickets.redeem(url.searchParams.get('ticket'), session);
      if (!target) return refuse(403, 'Console ticket invalid, used or expired');
      wss.handleUpgrade(request, socket, head, (ws) => {
        ws.on('error', (error) => log(`console connection closed after a malformed WebSocket frame: ${error.message}`));
        auth.attach(session, ws);
        pipeWebSocketToUnixSocket(ws, target.socketPath, log);
      });
      return;
    }
    if (url.pathname !== '/rpc') return refuse(404, 'Not Found');
    const connectionId = `ws-${++rpcConnections}`;
    wss.handleUpgrade(request, socket, head, (ws) => {
      auth.attach(session, ws);
      const transport = wsTransport(ws, log);
      serveRpc(virtdeskContract, options.engine.implementation, options.engine.bus, transport, {
        peer: { connectionId, session, kind: 'browser' },
        onProtocolError: (problem) => log(`RPC protocol error: ${problem}`),
      });
    });
  });

  listener.handle(handler);

  return {
    url: `${listener.origin}/?token=${auth.token}`,
    origin: listener.origin,
    auth,
    newLaunchUrl,
    close: () =>
      new Promise<void>((resolve) => {
        clearInterval(sweep);
        for (const client of wss.clients) client.terminate();
        wss.close();
        void listener.close().then(resolve);
      }),
  };
}

const unauthorizedText =
  'Not signed in, or your session ended (sessions end when unused for a while, and after some hours).\n' +
  'Open the newest launch URL that `virtdesk serve` printed: it carries a one-time token.\n' +
  'To print a new one, run `kill -USR1 PID` with the pid of `virtdesk serve`, or restart it (running VMs keep running).\n';

