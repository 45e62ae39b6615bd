import { decodeMessage, encodeMessage } from './wire';

/**
 * A bidirectional channel of JSON-able messages, each carried as JSON text (wire.ts). WebSocket, Electron MessagePort and the
 * in-memory pair all adapt to this, so the RPC never knows which one it runs on.
 */
export interface Transport {
  send(message: unknown): void;
  onMessage(handler: (message: unknown) => void): void;
  onClose(handler: () => void): void;
  close(): void;
}

/** Two connected transports in one process, for tests and for in-process hosting. */
export function createMemoryTransportPair(): [Transport, Transport] {
  const make = () => ({
    messageHandlers: [] as ((message: unknown) => void)[],
    closeHandlers: [] as (() => void)[],
    closed: false,
  });
  const a = make();
  const b = make();
  const endpoint = (self: ReturnType<typeof make>, peer: ReturnType<typeof make>): Transport => ({
    send(message) {
      if (self.closed) throw new Error('transport is closed');
      // Through JSON text like every other transport: no shared objects, the same values survive.
      const decoded = decodeMessage(encodeMessage(message));
      queueMicrotask(() => {
        if (!peer.closed && decoded.ok) for (const handler of peer.messageHandlers) handler(decoded.message);
      });
    },
    onMessage(handler) {
      self.messageHandlers.push(handler);
    },
    onClose(handler) {
      self.closeHandlers.push(handler);
    },
    close() {
      for (const side of [self, peer]) {
        if (side.closed) continue;
        side.closed = true;
        queueMicrotask(() => side.closeHandlers.forEach((handler) => handler()));
      }
    },
  });
  return [endpoint(a, b), endpoint(b, a)];
}
