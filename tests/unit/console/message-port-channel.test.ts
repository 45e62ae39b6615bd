// The MessagePort-backed console channel against noVNC's contract (ENVIRONMENT.md), over a real
// MessageChannel: own keys, early bytes kept and replayed in order, copies on send, onclose after close().
import { afterEach, describe, expect, it } from 'vitest';
import { messagePortChannel, type PortLike } from '../../../renderer/src/lib/console/message-port-channel';

const NOVNC_KEYS = ['send', 'close', 'binaryType', 'onerror', 'onmessage', 'onopen', 'protocol', 'readyState'];
const ports: MessagePort[] = [];

function pair(): { channel: ReturnType<typeof messagePortChannel>; host: MessagePort } {
  const { port1, port2 } = new MessageChannel();
  ports.push(port1, port2);
  return { channel: messagePortChannel(port1 as unknown as PortLike), host: port2 };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 20));

afterEach(() => {
  for (const port of ports.splice(0)) port.close();
});

describe('messagePortChannel', () => {
  it('has the keys noVNC checks as own properties and starts open', () => {
    const { channel } = pair();
    expect(Object.keys(channel)).toEqual(expect.arrayContaining(NOVNC_KEYS));
    expect(channel.readyState).toBe('open');
    expect(channel.binaryType).toBe('arraybuffer');
  });

  it('keeps bytes that arrive before onmessage is set and replays them first, in order', async () => {
    const { channel, host } = pair();
    host.postMessage(new TextEncoder().encode('RFB 003.008\n'));
    host.postMessage(new Uint8Array([1, 2, 3]));
    await tick();
    const received: number[][] = [];
    channel.onmessage = (event) => received.push([...new Uint8Array(event.data)]);
    // Replayed in a microtask, not synchronously inside the setter.
    expect(received).toEqual([]);
    host.postMessage(new Uint8Array([4]));
    await tick();
    expect(received.map((r) => r.length)).toEqual([12, 3, 1]);
    expect(received[1]).toEqual([1, 2, 3]);
    expect(received[2]).toEqual([4]);
    expect(new Uint8Array(received[0]!)[0]).toBe('R'.charCodeAt(0));
  });

  it('copies what send() gets, so noVNC may reuse its buffer at once', async () => {
    const { channel, host } = pair();
    const got: number[][] = [];
    host.onmessage = (event: MessageEvent) => got.push([...(event.data as Uint8Array)]);
    const buffer = new Uint8Array(8);
    buffer.set([9, 9, 9]);
    channel.send(buffer.subarray(0, 3));
    buffer.fill(0);
    await tick();
    expect(got).toEqual([[9, 9, 9]]);
  });

  it('fires onclose after close(), asynchronously, and resolves closed', async () => {
    const { channel } = pair();
    const events: string[] = [];
    channel.onclose = () => events.push('onclose');
    channel.close();
    events.push('after close()');
    await expect(channel.closed).resolves.toMatchObject({ wasClean: true });
    await tick();
    expect(events).toEqual(['after close()', 'onclose']);
    expect(channel.readyState).toBe('closed');
    // Sending after close is a no-op, not a throw.
    expect(() => channel.send(new Uint8Array([1]))).not.toThrow();
  });

  it('reports the far end closing the port', async () => {
    const { channel, host } = pair();
    host.close();
    await expect(channel.closed).resolves.toMatchObject({ wasClean: false });
    expect(channel.readyState).toBe('closed');
  });
});
