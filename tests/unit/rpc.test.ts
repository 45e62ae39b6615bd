import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineContract, method } from '../../engine/api/contract';
import { EngineError } from '../../engine/api/errors';
import { createEventBus } from '../../engine/api/events';
import { createRpcClient } from '../../engine/api/rpc-client';
import { serveRpc } from '../../engine/api/rpc-server';
import { createMemoryTransportPair } from '../../engine/api/transport';

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

function setup() {
  const bus = createEventBus<Record<string, unknown>>();
  const cancelled: string[] = [];
  const [clientSide, serverSide] = createMemoryTransportPair();
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

describe('RPC over the in-memory transport', () => {
  it('calls a method and returns its typed result', async () => {
    const { client } = setup();
    await expect(client.api.math.add({ a: 2, b: 3 })).resolves.toBe(5);
  });

  it('carries engine errors with code, message and hint', async () => {
    const { client } = setup();
    const error = await client.api.math.fail({}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EngineError);
    expect(error).toMatchObject({ code: 'invalid-state', message: 'cannot do that', hint: 'do this instead' });
  });

  it('rejects invalid params on the receiving side with the field named', async () => {
    const { client } = setup();
    const error = await client.api.math.add({ a: 1, b: 'x' as unknown as number }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'invalid-argument' });
    expect((error as Error).message).toContain('b:');
  });

  it('rejects a result that does not match the contract', async () => {
    const { client } = setup();
    await expect(client.api.math.lie({})).rejects.toMatchObject({ code: 'internal' });
  });

  it('cancels a call on both sides', async () => {
    const { client, cancelled } = setup();
    const controller = new AbortController();
    const call = client.api.math.slow({ ms: 10_000 }, { signal: controller.signal });
    setTimeout(() => controller.abort(), 10);
    await expect(call).rejects.toMatchObject({ code: 'cancelled' });
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(cancelled).toEqual(['slow']);
  });

  it('times out a call that does not answer', async () => {
    const { client } = setup();
    await expect(client.api.math.slow({ ms: 5_000 }, { timeoutMs: 20 })).rejects.toMatchObject({ code: 'timeout' });
  });

  it('delivers subscribed events and stops after unsubscribe', async () => {
    const { client, bus } = setup();
    const seen: number[] = [];
    const off = client.on('tick', ({ n }) => seen.push(n));
    await new Promise((resolve) => setTimeout(resolve, 0));
    bus.emit('tick', { n: 1 });
    await new Promise((resolve) => setTimeout(resolve, 0));
    off();
    await new Promise((resolve) => setTimeout(resolve, 0));
    bus.emit('tick', { n: 2 });
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(seen).toEqual([1]);
    expect(bus.listenerCount('tick')).toBe(0);
  });

  it('answers malformed messages with an error instead of crashing', async () => {
    const { serverSide: _s, clientSide } = setup();
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
    const { client, clientSide } = setup();
    const call = client.api.math.slow({ ms: 10_000 });
    clientSide.close();
    await expect(call).rejects.toMatchObject({ code: 'unavailable' });
    expect(client.connected).toBe(false);
  });
});
