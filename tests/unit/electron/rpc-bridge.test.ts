import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import type { CallContext, ImplementationOf } from '../../../engine/api/contract';
import { createEventBus } from '../../../engine/api/events';
import type { VirtdeskContract } from '../../../engine/api/virtdesk-api';
import { RPC_CHANNEL, serveRpcOverIpc, type RpcContents, type RpcIpcMain } from '../../../main/electron/rpc-bridge';

class FakeContents extends EventEmitter implements RpcContents {
  readonly sent: unknown[] = [];
  destroyed = false;
  constructor(readonly id: number) {
    super();
  }
  isDestroyed() {
    return this.destroyed;
  }
  send(channel: string, message: unknown) {
    expect(channel).toBe(RPC_CHANNEL);
    // Messages go out as JSON text, like on every other transport (engine/api/wire.ts).
    expect(typeof message).toBe('string');
    this.sent.push(JSON.parse(message as string));
  }
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 10));

function setup() {
  const ipc = new EventEmitter();
  const calls: { method: string; peer: string }[] = [];
  const bus = createEventBus<Record<string, unknown>>();
  const implementation = {
    host: {
      info: (_params: unknown, context: CallContext) => {
        calls.push({ method: 'host.info', peer: context.peer.connectionId });
        return { engineVersion: '1', hostname: 'h', hostKind: 'electron' as const };
      },
      overview: (_params: unknown, context: CallContext) =>
        new Promise((_resolve, reject) => context.signal.addEventListener('abort', () => reject(new Error('cancelled')))),
    },
  } as unknown as ImplementationOf<VirtdeskContract>;
  const lines: string[] = [];
  serveRpcOverIpc(ipc as unknown as RpcIpcMain, { implementation, bus }, (line) => lines.push(line));
  const sendFrame = (contents: FakeContents, frameUrl: string | null, frame: unknown) =>
    ipc.emit(RPC_CHANNEL, { sender: contents, senderFrame: frameUrl === null ? null : { url: frameUrl } }, frame);
  const send = (contents: FakeContents, frameUrl: string | null, message: unknown) => sendFrame(contents, frameUrl, JSON.stringify(message));
  return { send, sendFrame, calls, lines, bus };
}

const call = (id: number, method: string, params: unknown = {}) => ({ t: 'call', id, method, params });

describe('RPC over IPC', () => {
  it("answers calls from the app's own frames, each window on its own connection", async () => {
    const { send, calls } = setup();
    const a = new FakeContents(7);
    const b = new FakeContents(9);
    send(a, 'app://virtdesk/index.html', call(1, 'host.info'));
    send(b, 'app://virtdesk/index.html#/console/x', call(1, 'host.info'));
    await settle();
    expect(a.sent).toEqual([{ t: 'result', id: 1, value: { engineVersion: '1', hostname: 'h', hostKind: 'electron' } }]);
    expect(b.sent).toHaveLength(1);
    expect(calls.map((c) => c.peer)).toEqual(['window-7', 'window-9']);
  });

  it('drops messages from untrusted or vanished frames without an answer', async () => {
    const { send, calls, lines } = setup();
    const contents = new FakeContents(3);
    send(contents, 'https://evil.example/', call(1, 'host.info'));
    send(contents, 'file:///tmp/page.html', call(2, 'host.info'));
    send(contents, 'app://not-virtdesk/index.html', call(3, 'host.info'));
    send(contents, null, call(4, 'host.info'));
    await settle();
    expect(calls).toEqual([]);
    expect(contents.sent).toEqual([]);
    expect(lines).toEqual([
      'dropped RPC message from untrusted frame https://evil.example/',
      'dropped RPC message from untrusted frame file:///tmp/page.html',
      'dropped RPC message from untrusted frame app://not-virtdesk/index.html',
      'dropped RPC message from untrusted frame (gone)',
    ]);
  });

  it('answers malformed messages from a trusted frame with an error, never reaching the engine', async () => {
    const { send, calls } = setup();
    const contents = new FakeContents(4);
    send(contents, 'app://virtdesk/index.html', { t: 'call', id: 'x', method: 'host.info' });
    send(contents, 'app://virtdesk/index.html', call(2, 'host.nope'));
    await settle();
    expect(calls).toEqual([]);
    expect(contents.sent).toEqual([
      expect.objectContaining({ t: 'error', error: expect.objectContaining({ code: 'invalid-argument' }) }),
      expect.objectContaining({ t: 'error', id: 2, error: expect.objectContaining({ code: 'not-found' }) }),
    ]);
  });

  it('drops frames that are not JSON text, saying so in the log, never reaching the engine', async () => {
    const { sendFrame, calls, lines } = setup();
    const contents = new FakeContents(8);
    sendFrame(contents, 'app://virtdesk/index.html', call(1, 'host.info'));
    sendFrame(contents, 'app://virtdesk/index.html', '{"t":"call",');
    await settle();
    expect(calls).toEqual([]);
    expect(contents.sent).toEqual([]);
    expect(lines).toEqual(['RPC protocol error from window 8: frame is not JSON text but an object', 'RPC protocol error from window 8: frame is not JSON']);
  });

  it('starts a new connection when the page reloads: old calls are cancelled, ids start over', async () => {
    const { send } = setup();
    const contents = new FakeContents(5);
    send(contents, 'app://virtdesk/index.html', call(1, 'host.overview'));
    await settle();
    contents.emit('did-navigate');
    send(contents, 'app://virtdesk/index.html', call(1, 'host.info'));
    await settle();
    // Id 1 is free again on the new connection; the old one's call was cancelled, not answered.
    expect(contents.sent).toEqual([{ t: 'result', id: 1, value: expect.objectContaining({ hostKind: 'electron' }) }]);
  });

  it('sends nothing to a destroyed window and forgets it', async () => {
    const { send, bus } = setup();
    const contents = new FakeContents(6);
    send(contents, 'app://virtdesk/index.html', { t: 'subscribe', topic: 'vms.changed' });
    await settle();
    bus.emit('vms.changed', { ids: ['a'] });
    await settle();
    expect(contents.sent).toEqual([{ t: 'event', topic: 'vms.changed', data: { ids: ['a'] } }]);
    contents.destroyed = true;
    contents.emit('destroyed');
    bus.emit('vms.changed', { ids: ['b'] });
    await settle();
    expect(contents.sent).toHaveLength(1);
  });
});
