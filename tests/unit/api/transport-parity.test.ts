// Every RPC transport carries a message the same way (engine/api/wire.ts): what arrives through the
// Electron IPC pipe, serve's WebSocket and the in-memory pair is the same value, in both directions.
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket as WsClient, WebSocketServer, type WebSocket as ServerSocket } from 'ws';
import { createMemoryTransportPair, type Transport } from '../../../engine/api/transport';
import { RPC_CHANNEL, windowTransport } from '../../../main/electron/rpc-bridge';
import { wsTransport } from '../../../main/serve/ws-transport';
import { bridgeTransport, type HostBridge } from '../../../renderer/src/lib/api/bridge-transport';
import { connectWebSocket } from '../../../renderer/src/lib/api/websocket-transport';

/** A host's end and the renderer's end of one transport. */
interface Link {
  host: Transport;
  renderer: Transport;
  close(): Promise<void> | void;
}

function memoryLink(): Link {
  const [host, renderer] = createMemoryTransportPair();
  return { host, renderer, close: () => host.close() };
}

/** The Electron path: main's window transport, IPC (Electron structured-clones what it carries), the preload's pipe, the renderer's bridge transport. */
function electronLink(): Link {
  let toRenderer: ((text: unknown) => void) | undefined;
  const contents = {
    isDestroyed: () => false,
    send: (channel: string, text: unknown) => {
      expect(channel).toBe(RPC_CHANNEL);
      const copy = structuredClone(text);
      queueMicrotask(() => toRenderer?.(copy));
    },
  };
  const host = windowTransport(contents);
  const bridge: HostBridge = {
    kind: 'electron',
    send: (text) => {
      const copy = structuredClone(text);
      queueMicrotask(() => host.receive(copy));
    },
    onMessage: (handler) => (toRenderer = handler),
  };
  return { host, renderer: bridgeTransport(bridge), close: () => host.close() };
}

let server: WebSocketServer;
let url: string;
const accepted: ServerSocket[] = [];

beforeAll(async () => {
  server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  server.on('connection', (socket) => accepted.push(socket));
  await new Promise((resolve) => server.once('listening', resolve));
  url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/rpc`;
  // The renderer's transport uses the browser's WebSocket; `ws` has the same interface.
  (globalThis as { WebSocket?: unknown }).WebSocket = WsClient;
});
afterAll(async () => {
  delete (globalThis as { WebSocket?: unknown }).WebSocket;
  await new Promise((resolve) => server.close(resolve));
});

/** The serve path: the renderer's WebSocket transport to serve's `ws` transport, over a real socket. */
async function serveLink(): Promise<Link> {
  const before = accepted.length;
  const renderer = await connectWebSocket(url);
  await expect.poll(() => accepted.length).toBe(before + 1);
  const socket = accepted[before]!;
  const problems: string[] = [];
  const host = wsTransport(socket, (problem) => problems.push(problem));
  return {
    host,
    renderer,
    close: async () => {
      const closed = new Promise((resolve) => socket.once('close', resolve));
      renderer.close();
      await closed;
      expect(problems).toEqual([]);
    },
  };
}

const links: [string, () => Link | Promise<Link>][] = [
  ['in-memory', memoryLink],
  ['Electron IPC', electronLink],
  ['serve WebSocket', serveLink],
];

/** Values that a structured clone keeps and JSON does not (or changes). */
const awkward = {
  absent: undefined,
  holes: [undefined, 1],
  when: new Date(0),
  map: new Map([['a', 1]]),
  set: new Set([1]),
  notANumber: Number.NaN,
  minusZero: -0,
  infinite: Number.POSITIVE_INFINITY,
  bytes: new Uint8Array([1, 2]),
  nested: { deeper: { absent: undefined, kept: 'é ✓ 😀' } },
};
const message = { t: 'event', topic: 'vms.changed', data: awkward };
const asJson: unknown = JSON.parse(JSON.stringify(message));

async function carry(link: Link, from: 'host' | 'renderer', value: unknown): Promise<unknown> {
  const to = from === 'host' ? link.renderer : link.host;
  const arrived = new Promise<unknown>((resolve) => to.onMessage(resolve));
  link[from].send(value);
  return arrived;
}

describe('RPC transports carry the same values', () => {
  it('a structured clone alone would not: it keeps undefined fields, Dates and Maps that JSON turns into something else', () => {
    expect(structuredClone(message)).not.toStrictEqual(asJson);
  });

  for (const [name, open] of links) {
    it(`${name}: host to renderer and back, exactly what JSON keeps`, async () => {
      const link = await open();
      try {
        expect(await carry(link, 'host', message)).toStrictEqual(asJson);
        expect(await carry(link, 'renderer', message)).toStrictEqual(asJson);
      } finally {
        await link.close();
      }
    });

    it(`${name}: a value JSON cannot carry fails on sending, on either end`, async () => {
      const link = await open();
      try {
        expect(() => link.host.send({ t: 'event', topic: 'x', data: { big: 1n } })).toThrow(TypeError);
        expect(() => link.renderer.send({ t: 'call', id: 1, method: 'x', params: { big: 1n } })).toThrow(TypeError);
      } finally {
        await link.close();
      }
    });
  }
});
