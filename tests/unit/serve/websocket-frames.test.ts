import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_RPC_MESSAGE_BYTES } from '../../../engine/api/json-bounds';
import { MAX_WEBSOCKET_FRAME_BYTES } from '../../../main/serve/ws-transport';
import { buildFrame, closeCodeOf, openRawWebSocket, textFrame } from './raw-websocket';
import { rpcSocket } from './rpc-client-socket';
import { startTestServe, type TestServe } from './serve-harness';

let serve: TestServe;
let consoleDir: string;
let fakeConsole: Server;
let vmId: string;

beforeAll(async () => {
  serve = await startTestServe();
  vmId = (await serve.engine.vms.create({ name: 'edited', accelerator: 'tcg', nics: [] })).id;
  // /console pipes to a VM's unix socket; a plain listener stands in for QEMU's VNC socket.
  consoleDir = await mkdtemp(join(tmpdir(), 'virtdesk-console-'));
  fakeConsole = createServer((socket) => socket.on('error', () => socket.destroy()));
  await new Promise<void>((resolve) => fakeConsole.listen(join(consoleDir, 'vnc.sock'), resolve));
});

afterAll(async () => {
  await serve?.close();
  await new Promise((resolve) => fakeConsole?.close(resolve));
  await rm(consoleDir, { recursive: true, force: true });
});

const invalidUtf8 = Buffer.from([0x7b, 0x22, 0xc3, 0x28, 0x22, 0x7d]);

/** The frames of the audit (7/7 killed serve through /rpc) and a few more of the same kind. */
const MALFORMED_FRAMES: Record<string, Buffer[]> = {
  'a message over the frame limit': [buildFrame({ opcode: 1, claimedLength: BigInt(MAX_WEBSOCKET_FRAME_BYTES + 1) })],
  'a 64-bit length with the top bit set': [buildFrame({ opcode: 1, claimedLength: 1n << 63n })],
  'invalid UTF-8 in a text frame': [buildFrame({ opcode: 1, payload: invalidUtf8 })],
  'a reserved opcode': [buildFrame({ opcode: 3, payload: Buffer.from('{}') })],
  'a reserved control opcode': [buildFrame({ opcode: 0xb })],
  'an unmasked frame': [buildFrame({ opcode: 1, payload: Buffer.from('{}'), masked: false })],
  'RSV bits without an extension': [buildFrame({ opcode: 1, rsv: 4, payload: Buffer.from('{}') })],
  'a close frame with a bad code': [buildFrame({ opcode: 8, payload: Buffer.from([0x03, 0xe7]) })],
  'a close frame with a one-byte body': [buildFrame({ opcode: 8, payload: Buffer.from([0x03]) })],
  'an oversized control frame': [buildFrame({ opcode: 9, payload: Buffer.alloc(126) })],
  'a fragmented control frame': [buildFrame({ opcode: 9, fin: false, payload: Buffer.from('x') })],
  'a continuation without a first fragment': [buildFrame({ opcode: 0, payload: Buffer.from('{}') })],
  'a new message inside a fragmented one': [buildFrame({ opcode: 1, fin: false, payload: Buffer.from('{') }), buildFrame({ opcode: 1, payload: Buffer.from('}') })],
};

async function assertServeAlive(): Promise<void> {
  const socket = await serve.openSocket();
  const rpc = rpcSocket(socket);
  rpc.call(1, 'vms.list', {});
  expect(await rpc.reply(1)).toMatchObject({ t: 'result', value: [{ name: 'edited' }] });
  socket.close();
}

describe('serve and malformed WebSocket frames', () => {
  const consolePath = () => {
    const session = serve.server.auth.sessionOf(serve.cookie)!;
    const { ticket } = serve.consoleTickets.issue({ vmId: 'vm-1', kind: 'vnc', socketPath: join(consoleDir, 'vnc.sock') }, session);
    return `/console?ticket=${ticket}`;
  };

  for (const [name, frames] of Object.entries(MALFORMED_FRAMES)) {
    it(`closes only the connection on ${name}, on /rpc and /console`, async () => {
      for (const path of ['/rpc', consolePath()]) {
        const bystander = rpcSocket(await serve.openSocket());
        const raw = await openRawWebSocket(serve.port, path, { cookie: serve.cookie, origin: serve.origin });
        for (const frame of frames) raw.socket.write(frame);
        await raw.closedByServer(5_000);
        const code = closeCodeOf(raw.received());
        if (code !== undefined) expect([1002, 1007, 1009]).toContain(code);
        bystander.call(7, 'vms.list', {});
        expect(await bystander.reply(7)).toMatchObject({ t: 'result' });
      }
      await assertServeAlive();
    });
  }

  it('logs each malformed frame it closed a connection for', async () => {
    const before = serve.lines.length;
    const raw = await openRawWebSocket(serve.port, '/rpc', { cookie: serve.cookie, origin: serve.origin });
    raw.socket.write(buildFrame({ opcode: 1, payload: invalidUtf8 }));
    await raw.closedByServer(5_000);
    await expect.poll(() => serve.lines.slice(before).join('\n')).toMatch(/malformed WebSocket frame: .*UTF-8/);
  });

  it('answers a call over the message limit with a clear error and keeps the connection', async () => {
    const rpc = rpcSocket(await serve.openSocket());
    rpc.call(1, 'vms.update', { id: 'x', patch: { notes: 'n'.repeat(MAX_RPC_MESSAGE_BYTES + 1000) } });
    const reply = await rpc.reply(1);
    expect(reply).toMatchObject({ t: 'error', id: 1, error: { code: 'resource-exhausted' } });
    expect((reply.error as { message: string }).message).toMatch(/^The vms\.update call is \d+ bytes; Virtdesk accepts RPC messages of at most 1048576 bytes \(1 MiB\)\.$/);
    rpc.call(2, 'vms.list', {});
    expect(await rpc.reply(2)).toMatchObject({ t: 'result' });
    expect(rpc.closed).toBe(false);
  });

  it('answers a 2000-deep message with a clear error, not a stack overflow', async () => {
    const rpc = rpcSocket(await serve.openSocket());
    rpc.sendText(`{"t":"call","id":1,"method":"vms.update","params":{"id":"${vmId}","patch":${'{"a":'.repeat(2000)}1${'}'.repeat(2000)}}}`);
    const reply = await rpc.reply(1);
    expect(reply).toMatchObject({ t: 'error', id: 1, error: { code: 'invalid-argument' } });
    expect((reply.error as { message: string }).message).toMatch(/more than 64 levels deep/);
    expect(JSON.stringify(reply)).not.toMatch(/call stack/i);
  });

  it('closes a connection that sends binary or non-JSON frames, and only that one', async () => {
    for (const frame of [buildFrame({ opcode: 2, payload: Buffer.from('{}') }), textFrame('not json')] satisfies Buffer[]) {
      const raw = await openRawWebSocket(serve.port, '/rpc', { cookie: serve.cookie, origin: serve.origin });
      raw.socket.write(frame);
      await raw.closedByServer(5_000);
      expect(closeCodeOf(raw.received())).toBe(1003);
    }
    await assertServeAlive();
  });
});
