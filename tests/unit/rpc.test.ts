import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import * as z from 'zod';
import { defineContract, method } from '../../engine/api/contract';
import { EngineError } from '../../engine/api/errors';
import { createEventBus } from '../../engine/api/events';
import { createRpcClient } from '../../engine/api/rpc-client';
import { serveRpc } from '../../engine/api/rpc-server';
import { createMemoryTransportPair, type Transport } from '../../engine/api/transport';
import { wsTransport } from '../../main/serve/ws-transport';

type TransportPair = () => Promise<[client: Transport, server: Transport]>;
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

/** A real WebSocket on loopback: serve's server-side adapter, and the same framing on the client. */
const webSocketPair: TransportPair = async () => {
  const http = createServer();
  const wss = new WebSocketServer({ server: http });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const serverSide = new Promise<Transport>((resolve) => wss.on('connection', (ws) => resolve(wsTransport(ws, () => {}))));
  const socket = new WebSocket(`ws://127.0.0.1:${(http.address() as AddressInfo).port}`);
  await new Promise((resolve) => socket.once('open', resolve));
  const client: Transport = {
    send: (message) => socket.send(JSON.stringify(message)),
    onMessage: (handler) => socket.on('message', (data) => handler(JSON.parse(data.toString()))),
    onClose: (handler) => socket.on('close', handler),
    close: () => socket.close(),
  };
  cleanups.push(async () => {
    socket.terminate();
    for (const peer of wss.clients) peer.terminate();
    await new Promise((resolve) => wss.close(resolve));
    await new Promise((resolve) => http.close(resolve));
  });
  return [client, await serverSide];
};

const memoryPair: TransportPair = async () => createMemoryTransportPair();

const contract = defineContract({
  services: {
    math: {
      add: method(z.object({ a: z.number(), b: z.number() }), z.number()),
      fail: method(z.object({}), z.null()),
      slow: method(z.object({ ms: z.number() }), z.string()),
      lie: method(z.object({}), z.number()),
    },
  },
  events: {
    tick: z.object({ n: z.number() }),
  },
});

describe.each([
  ['the in-memory transport', memoryPair],
  ['a WebSocket', webSocketPair],
] as const)('RPC over %s', (_name, makePair) => {
  async function setup() {
    const bus = createEventBus<Record<string, unknown>>();
    const cancelled: string[] = [];
    const [clientSide, serverSide] = await makePair();
    serveRpc(
      contract,
      {
        math: {
          add: ({ a, b }) => a + b,
          fail: () => {
            throw new EngineError('invalid-state', 'cannot do that', { hint: 'do this instead' });
          },
          slow: ({ ms }, { signal }) =>
            new Promise<string>((resolve, reject) => {
              const timer = setTimeout(() => resolve('done'), ms);
              signal.addEventListener('abort', () => {
                clearTimeout(timer);
                cancelled.push('slow');
                reject(new Error('aborted'));
              });
            }),
          lie: () => 'not a number' as unknown as number,
        },
      },
      bus,
      serverSide,
    );
    const client = createRpcClient(contract, clientSide);
    return { client, bus, cancelled, serverSide, clientSide };
  }

  describe('calls, errors, cancellation, events', () => {
    it('calls a method and returns its typed result', async () => {
      const { client } = await setup();
      await expect(client.api.math.add({ a: 2, b: 3 })).resolves.toBe(5);
    });

    it('carries engine errors with code, message and hint', async () => {
      const { client } = await setup();
      const error = await client.api.math.fail({}).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(EngineError);
      expect(error).toMatchObject({ code: 'invalid-state', message: 'cannot do that', hint: 'do this instead' });
    });

    it('rejects invalid params on the receiving side with the field named', async () => {
      const { client } = await setup();
      const error = await client.api.math.add({ a: 1, b: 'x' as unknown as number }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'invalid-argument' });
      expect((error as Error).message).toContain('b:');
    });

    it('rejects a result that does not match the contract', async () => {
      const { client } = await setup();
      await expect(client.api.math.lie({})).rejects.toMatchObject({ code: 'internal' });
    });

    it('cancels a call on both sides', async () => {
      const { client, cancelled } = await setup();
      const controller = new AbortController();
      const call = client.api.math.slow({ ms: 10_000 }, { signal: controller.signal });
      setTimeout(() => controller.abort(), 10);
      await expect(call).rejects.toMatchObject({ code: 'cancelled' });
      await new Promise((resolve) => setTimeout(resolve, 10));
      expect(cancelled).toEqual(['slow']);
    });

    it('times out a call that does not answer', async () => {
      const { client } = await setup();
      await expect(client.api.math.slow({ ms: 5_000 }, { timeoutMs: 20 })).rejects.toMatchObject({ code: 'timeout' });
    });

    it('delivers subscribed events and stops after unsubscribe', async () => {
      const { client, bus } = await setup();
      const seen: number[] = [];
      const off = client.on('tick', ({ n }) => seen.push(n));
      await new Promise((resolve) => setTimeout(resolve, 20));
      bus.emit('tick', { n: 1 });
      await new Promise((resolve) => setTimeout(resolve, 20));
      off();
      await new Promise((resolve) => setTimeout(resolve, 20));
      bus.emit('tick', { n: 2 });
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(seen).toEqual([1]);
      expect(bus.listenerCount('tick')).toBe(0);
    });

    it('answers malformed messages with an error instead of crashing', async () => {
      const { clientSide } = await setup();
      const replies: unknown[] = [];
      clientSide.onMessage((message) => replies.push(message));
      clientSide.send({ t: 'call', id: 'one', method: 'math.add' });
      clientSide.send({ t: 'call', id: 7, method: 'nope.nothing', params: {} });
      clientSide.send('garbage');
      await new Promise((resolve) => setTimeout(resolve, 10));
      expect(replies).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ t: 'error', id: null, error: expect.objectContaining({ code: 'invalid-argument' }) }),
          expect.objectContaining({ t: 'error', id: 7, error: expect.objectContaining({ code: 'not-found' }) }),
        ]),
      );
    });

    it('fails pending calls when the connection closes', async () => {
      const { client, clientSide } = await setup();
      const call = client.api.math.slow({ ms: 10_000 });
      clientSide.close();
      await expect(call).rejects.toMatchObject({ code: 'unavailable' });
      expect(client.connected).toBe(false);
    });
  });
});
