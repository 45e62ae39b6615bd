import type { Server } from 'node:http';
import type { Socket } from 'node:net';

export interface ConnectionLimits {
  /** Open connections one client address may hold (a browser uses ~6 for files, 1 for /rpc, 1 per console). */
  maxPerClient: number;
  /** Open connections in all. */
  maxTotal: number;
  /** A connection that has not sent a whole request (or finished TLS) by then is closed. */
  requestWithinMs: number;
}

export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = { maxPerClient: 64, maxTotal: 512, requestWithinMs: 10_000 };

/**
 * Bounds what idle or hostile clients can hold open: connections per client address, in all, and
 * half-open ones that never finish a request (Node's own header timeout is checked only every 30 s
 * by default, so 300 such sockets were held 35 s). Returns `inUse`, which serve calls for every
 * request and upgrade so that the socket is no longer counted as half-open.
 */
export function limitConnections(server: Server, secure: boolean, limits: ConnectionLimits, log: (line: string) => void): { inUse(socket: Socket): void } {
  server.maxConnections = limits.maxTotal;
  server.headersTimeout = limits.requestWithinMs;
  server.requestTimeout = Math.max(limits.requestWithinMs, 30_000);
  const perClient = new Map<string, number>();
  const used = new WeakSet<Socket>();
  let refusedSinceLog = 0;

  server.on('connection', (socket: Socket) => {
    const client = socket.remoteAddress ?? 'unknown';
    const count = (perClient.get(client) ?? 0) + 1;
    if (count > limits.maxPerClient) {
      if (refusedSinceLog++ === 0) {
        log(`refused a connection from ${client}: it already holds ${limits.maxPerClient} (more refusals in the next 10 s are not logged)`);
        setTimeout(() => (refusedSinceLog = 0), 10_000).unref();
      }
      socket.destroy();
      return;
    }
    perClient.set(client, count);
    socket.once('close', () => {
      const left = (perClient.get(client) ?? 1) - 1;
      if (left > 0) perClient.set(client, left);
      else perClient.delete(client);
    });
  });

  // Under TLS a request arrives on the TLS socket made after the handshake (TLS's own handshake timeout covers before).
  server.on(secure ? 'secureConnection' : 'connection', (socket: Socket) => {
    if (socket.destroyed) return;
    const timer = setTimeout(() => {
      if (!used.has(socket)) socket.destroy();
    }, limits.requestWithinMs);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
  });

  return { inUse: (socket) => used.add(socket) };
}
