import type WebSocket from 'ws';

/** Raw RPC over an open WebSocket: send any text, and wait for the reply to a call id. */
export interface RpcSocket {
  sendText(text: string): void;
  call(id: number, method: string, params: unknown): void;
  /** The reply (result or error message) to `id`, or a rejection after `ms`. */
  reply(id: number, ms?: number): Promise<Record<string, unknown>>;
  replied(id: number): boolean;
  readonly closed: boolean;
}

export function rpcSocket(socket: WebSocket): RpcSocket {
  const replies = new Map<number, Record<string, unknown>>();
  const waiters = new Map<number, (reply: Record<string, unknown>) => void>();
  let closed = false;
  socket.on('close', () => (closed = true));
  socket.on('message', (data) => {
    const message = JSON.parse(String(data)) as Record<string, unknown>;
    if (typeof message.id !== 'number') return;
    replies.set(message.id, message);
    waiters.get(message.id)?.(message);
  });
  return {
    sendText: (text) => socket.send(text),
    call: (id, method, params) => socket.send(JSON.stringify({ t: 'call', id, method, params })),
    reply(id, ms = 10_000) {
      const known = replies.get(id);
      if (known) return Promise.resolve(known);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no reply to call ${id} within ${ms} ms`)), ms);
        waiters.set(id, (reply) => {
          clearTimeout(timer);
          waiters.delete(id);
          resolve(reply);
        });
      });
    },
    replied: (id) => replies.has(id),
    get closed() {
      return closed;
    },
  };
}
