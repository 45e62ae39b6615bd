import { afterEach, describe, expect, it } from 'vitest';
import { JsonLineTransport, type JsonObject } from '../../../engine/qemu/qmp/transport';
import { FakeQmpServer } from './fake-qmp-server';

const servers: FakeQmpServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.stop()));
});

async function pair() {
  const server = await FakeQmpServer.start({ greeting: null });
  servers.push(server);
  const transport = await JsonLineTransport.connect(server.path, { timeoutMs: 1000 });
  const messages: JsonObject[] = [];
  const invalid: string[] = [];
  let closed = 0;
  transport.attach({ message: (m) => messages.push(m), invalidLine: (line) => invalid.push(line), close: () => closed++ });
  await new Promise((resolve) => setTimeout(resolve, 20));
  return { server, transport, messages, invalid, closed: () => closed };
}

const settle = (ms = 50) => new Promise((resolve) => setTimeout(resolve, ms));

describe('JsonLineTransport', () => {
  it('reassembles a message sent one byte at a time, CRLF and multi-byte text included', async () => {
    const { server, messages } = await pair();
    const bytes = Buffer.from('{"return": "ünïcödé ✓"}\r\n');
    for (const byte of bytes) {
      server.peer.socket.write(Buffer.from([byte]));
      await new Promise((resolve) => setImmediate(resolve));
    }
    await settle();
    expect(messages).toEqual([{ return: 'ünïcödé ✓' }]);
  });

  it('splits many messages arriving in one chunk, in order', async () => {
    const { server, messages } = await pair();
    const text = Array.from({ length: 500 }, (_, n) => JSON.stringify({ return: n })).join('\n') + '\n';
    server.peer.raw(text);
    await settle(100);
    expect(messages.map((m) => m['return'])).toEqual(Array.from({ length: 500 }, (_, n) => n));
  });

  it('reports invalid lines and blank lines are skipped', async () => {
    const { server, messages, invalid } = await pair();
    server.peer.raw('\n\nnope\n"a string"\n{"return": 1}\n');
    await settle();
    expect(invalid).toEqual(['nope', '"a string"']);
    expect(messages).toEqual([{ return: 1 }]);
  });

  it('delivers complete lines written just before the peer closes, then closes once', async () => {
    const { server, messages, closed, transport } = await pair();
    server.peer.socket.end('{"return": "last"}\n{"partial": ');
    await transport.whenClosed();
    expect(messages).toEqual([{ return: 'last' }]);
    expect(closed()).toBe(1);
    expect(() => transport.send({ execute: 'x' })).toThrow(/closed/);
  });

  it('closes cleanly from our side', async () => {
    const { transport, closed } = await pair();
    await transport.close();
    expect(transport.closed).toBe(true);
    expect(closed()).toBe(1);
  });
});
