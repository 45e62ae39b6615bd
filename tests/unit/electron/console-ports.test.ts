import type { MessagePortMain } from 'electron';
import { EventEmitter } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EngineError } from '../../../engine/api/errors';
import { CONSOLE_CHANNEL, deliverToAskingWindow, ElectronConsoles, type PortReceiver } from '../../../main/electron/console-ports';
import { waitFor } from '../../support/vm-helpers';

/** A MessageChannelMain pair: what one end posts the other hears (structured-clone-like copy). */
class FakePort extends EventEmitter {
  other!: FakePort;
  closed = false;
  started = false;
  start() {
    this.started = true;
  }
  postMessage(data: unknown) {
    if (this.closed) return;
    const copy = data instanceof Uint8Array ? new Uint8Array(data) : data;
    setImmediate(() => this.other.emit('message', { data: copy, ports: [] }));
  }
  close() {
    if (this.closed) return;
    this.closed = true;
    this.other.closed = true;
    setImmediate(() => {
      this.emit('close');
      this.other.emit('close');
    });
  }
}

function channel() {
  const port1 = new FakePort();
  const port2 = new FakePort();
  port1.other = port2;
  port2.other = port1;
  return { port1, port2 };
}

class FakeWindow implements PortReceiver {
  readonly received: { channel: string; message: unknown; ports: unknown[] }[] = [];
  destroyed = false;
  constructor(public url: string) {}
  isDestroyed() {
    return this.destroyed;
  }
  getURL() {
    return this.url;
  }
  postMessage(channelName: string, message: unknown, transfer: MessagePortMain[] = []) {
    this.received.push({ channel: channelName, message, ports: transfer });
  }
}

let dir: string;
let server: Server;
let vmSide: Socket[];
const socketPath = () => join(dir, 'vnc.sock');

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vd-console-ports-'));
  vmSide = [];
  server = createServer((socket) => vmSide.push(socket));
  await new Promise<void>((resolve) => server.listen(socketPath(), resolve));
});
afterEach(async () => {
  for (const socket of vmSide) socket.destroy();
  await new Promise((resolve) => server.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

function setup() {
  const windows = new Map<number, FakeWindow>([
    [7, new FakeWindow('app://virtdesk/index.html')],
    [9, new FakeWindow('app://virtdesk/index.html#/console/vm1')],
  ]);
  const made: ReturnType<typeof channel>[] = [];
  const consoles = new ElectronConsoles({
    makeChannel: () => {
      const pair = channel();
      made.push(pair);
      return pair as unknown as { port1: MessagePortMain; port2: MessagePortMain };
    },
    deliver: deliverToAskingWindow((id) => windows.get(id)),
  });
  return { windows, made, consoles };
}

const target = () => ({ vmId: 'vm1', kind: 'vnc' as const, socketPath: socketPath() });

describe('Electron console ports', () => {
  it('hands the port to the window that asked, and to no other', async () => {
    const { windows, made, consoles } = setup();
    const { ticket, expiresInMs } = consoles.open(target(), { connectionId: 'window-9' });
    expect(ticket).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect(expiresInMs).toBeLessThanOrEqual(30_000);
    expect(windows.get(9)!.received).toEqual([{ channel: CONSOLE_CHANNEL, message: { ticket }, ports: [made[0]!.port2] }]);
    expect(windows.get(7)!.received).toEqual([]);
  });

  it('refuses peers that are no window, gone windows and windows showing anything but the app', async () => {
    const { windows, consoles } = setup();
    const refused = (peer: string) => {
      try {
        consoles.open(target(), { connectionId: peer });
      } catch (error) {
        return error instanceof EngineError && error.code === 'unavailable';
      }
      return false;
    };
    expect(refused('session-abc')).toBe(true);
    expect(refused('window-12')).toBe(true);
    windows.get(7)!.destroyed = true;
    expect(refused('window-7')).toBe(true);
    windows.get(9)!.url = 'https://evil.example/';
    expect(refused('window-9')).toBe(true);
    for (const window of windows.values()) expect(window.received).toEqual([]);
    // Each refused attempt hung up on the VM's socket again.
    await waitFor('the refused connections to close', () => vmSide.length === 4 && vmSide.every((socket) => socket.destroyed || socket.readableEnded), 5000, 10);
  });

  it('pipes bytes both ways between the VM socket and the port', async () => {
    const { made, consoles } = setup();
    consoles.open(target(), { connectionId: 'window-7' });
    const renderer = made[0]!.port2;
    const fromVm: Uint8Array[] = [];
    renderer.on('message', (event: { data: Uint8Array }) => fromVm.push(event.data));
    await waitFor('the VM side to accept', () => vmSide.length === 1, 5000, 10);
    vmSide[0]!.write(Buffer.from('RFB 003.008\n'));
    await waitFor('bytes at the renderer', () => fromVm.length > 0, 5000, 10);
    expect(Buffer.concat(fromVm).toString()).toBe('RFB 003.008\n');

    const toVm: Buffer[] = [];
    vmSide[0]!.on('data', (chunk: Buffer) => toVm.push(chunk));
    renderer.postMessage(new Uint8Array([1, 2, 3]));
    await waitFor('bytes at the VM', () => Buffer.concat(toVm).length === 3, 5000, 10);
    expect([...Buffer.concat(toVm)]).toEqual([1, 2, 3]);
  });

  it('hangs up on the VM when the window closes its port, and closes the port when the VM hangs up', async () => {
    const { made, consoles } = setup();
    consoles.open(target(), { connectionId: 'window-7' });
    consoles.open(target(), { connectionId: 'window-9' });
    await waitFor('both connections', () => vmSide.length === 2, 5000, 10);
    made[0]!.port2.close();
    await waitFor('the first VM connection to end', () => vmSide[0]!.readableEnded || vmSide[0]!.destroyed, 5000, 10);
    vmSide[1]!.end();
    await waitFor('the second port to close', () => made[1]!.port1.closed, 5000, 10);
  });
});
