import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EngineError } from '../../../engine/api/errors';
import { QmpClient } from '../../../engine/qemu/qmp/client';
import { QmpClosedError, QmpCommandError, QmpProtocolError, QmpTimeoutError } from '../../../engine/qemu/qmp/errors';
import type { VmDomainEvent } from '../../../engine/qemu/qmp/events';
import { FakeQmpServer, recordingLog, type FakeQmpOptions, type Json } from './fake-qmp-server';

const servers: FakeQmpServer[] = [];
const clients: QmpClient[] = [];
const dirs: string[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  await Promise.all(servers.splice(0).map((server) => server.stop()));
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

async function serve(options: FakeQmpOptions = {}): Promise<FakeQmpServer> {
  const server = await FakeQmpServer.start(options);
  servers.push(server);
  return server;
}

async function connect(server: FakeQmpServer, extra: Partial<Parameters<typeof QmpClient.connect>[1]> = {}) {
  const client = await QmpClient.connect(server.path, { timeoutMs: 2000, ...extra });
  clients.push(client);
  return client;
}

/** Replies to each command with `{ echo: <command> }` at once. */
const echo: FakeQmpOptions['onCommand'] = (command, peer) => peer.reply(command['id'], { echo: command['execute'], args: command['arguments'] ?? null });

describe('QmpClient handshake', () => {
  it('reads the greeting and negotiates capabilities before anything else', async () => {
    const server = await serve({ onCommand: echo });
    const client = await connect(server);
    expect(client.greeting).toEqual({ version: { major: 7, minor: 2, micro: 22, package: 'Debian 1:7.2+dfsg-7+deb12u18+b3' }, capabilities: ['oob'] });
    expect(server.peer.received[0]).toMatchObject({ execute: 'qmp_capabilities' });
    expect(server.peer.received[0]).not.toHaveProperty('arguments');
  });

  it('fails with a protocol error when no greeting comes in time', async () => {
    const server = await serve({ greeting: null });
    const started = Date.now();
    await expect(QmpClient.connect(server.path, { timeoutMs: 300 })).rejects.toBeInstanceOf(QmpProtocolError);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('fails when the greeting is malformed', async () => {
    const server = await serve({ greeting: { QMP: { version: 'seven' } } });
    await expect(QmpClient.connect(server.path, { timeoutMs: 1000 })).rejects.toThrow(/malformed QMP greeting/);
  });

  it('fails when capabilities are refused', async () => {
    const server = await serve({
      manualCapabilities: true,
      onCommand: (command, peer) => peer.error(command['id'], 'GenericError', 'Capability negotiation is already complete'),
    });
    const error = await QmpClient.connect(server.path, { timeoutMs: 1000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QmpCommandError);
    expect((error as QmpCommandError).command).toBe('qmp_capabilities');
  });

  it('fails when the server closes before greeting', async () => {
    const server = await FakeQmpServer.start({ greeting: null });
    servers.push(server);
    const attempt = QmpClient.connect(server.path, { timeoutMs: 2000 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    server.peer.end();
    await expect(attempt).rejects.toBeInstanceOf(QmpClosedError);
  });

  it('names a missing socket as unavailable', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vd-qmp-'));
    dirs.push(dir);
    const error = await QmpClient.connect(join(dir, 'nope.sock'), { timeoutMs: 500 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EngineError);
    expect((error as EngineError).code).toBe('unavailable');
    expect((error as EngineError).message).toContain('nope.sock');
  });

  it('waits for a socket that appears later when asked to', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vd-qmp-'));
    dirs.push(dir);
    const path = join(dir, 'late.sock');
    const attempt = QmpClient.connect(path, { timeoutMs: 3000, waitForSocket: true });
    await new Promise((resolve) => setTimeout(resolve, 200));
    servers.push(await FakeQmpServer.start({ onCommand: echo }, path));
    const client = await attempt;
    clients.push(client);
    expect(client.greeting.version.major).toBe(7);
  });

  it('times out waiting for a socket that never appears', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vd-qmp-'));
    dirs.push(dir);
    const error = await QmpClient.connect(join(dir, 'never.sock'), { timeoutMs: 200, waitForSocket: true }).catch((e: unknown) => e);
    expect((error as EngineError).code).toBe('timeout');
  });

  it('stops waiting when aborted, throwing the abort reason', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vd-qmp-'));
    dirs.push(dir);
    const controller = new AbortController();
    const attempt = QmpClient.connect(join(dir, 'never.sock'), { timeoutMs: 5000, waitForSocket: true, signal: controller.signal });
    setTimeout(() => controller.abort(new EngineError('qemu-error', 'QEMU exited: boom')), 100);
    await expect(attempt).rejects.toThrow('QEMU exited: boom');
  });
});

// `execute` is private: the rest of the engine uses the named methods. These tests drive the one
// command path under all of them directly.
describe('QmpClient commands', () => {
  it('sends ids and arguments and resolves with the return value', async () => {
    const server = await serve({ onCommand: echo });
    const client = await connect(server);
    const result = (await client['execute']('device_del', { id: 'net0' })) as unknown;
    expect(result).toEqual({ echo: 'device_del', args: { id: 'net0' } });
    const sent = server.peer.received[1]!;
    expect(sent).toMatchObject({ execute: 'device_del', arguments: { id: 'net0' } });
    expect(typeof sent['id']).toBe('string');
    expect(sent['id']).not.toBe(server.peer.received[0]!['id']);
  });

  it('matches replies by id when they come out of order', async () => {
    const held: Json[] = [];
    const server = await serve({
      onCommand: (command, peer) => {
        held.push(command);
        if (held.length === 3) for (const c of [held[2]!, held[0]!, held[1]!]) peer.reply(c['id'], c['execute']);
      },
    });
    const client = await connect(server);
    const results = await Promise.all([client['execute']('query-name'), client['execute']('query-uuid'), client['execute']('query-kvm')]);
    expect(results).toEqual(['query-name', 'query-uuid', 'query-kvm']);
  });

  it('delivers events interleaved with replies, several in one chunk and split mid-line', async () => {
    const server = await serve({
      onCommand: (command, peer) => {
        const event = (name: string, data?: Json) =>
          JSON.stringify({ event: name, ...(data ? { data } : {}), timestamp: { seconds: 1700000000, microseconds: 250000 } });
        const text = `${event('STOP')}\n${JSON.stringify({ return: { running: false, singlestep: false, status: 'paused' }, id: command['id'] })}\n${event('RESUME')}\n${event('SHUTDOWN', { guest: true, reason: 'guest-shutdown' })}\n`;
        // Split inside a line, and inside the multi-byte character of a device name.
        const bytes = Buffer.from(text.replace('"STOP"', '"STOP","data":{"note":"é"}'));
        const cut1 = bytes.indexOf(Buffer.from('é')) + 1;
        const cut2 = bytes.indexOf(Buffer.from('RESUME')) + 3;
        peer.socket.write(bytes.subarray(0, cut1));
        setTimeout(() => peer.socket.write(bytes.subarray(cut1, cut2)), 20);
        setTimeout(() => peer.socket.write(bytes.subarray(cut2)), 40);
      },
    });
    const client = await connect(server);
    const events: VmDomainEvent[] = [];
    client.onEvent((event) => events.push(event));
    const status = await client.queryStatus();
    expect(status).toEqual({ running: false, state: 'paused' });
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(events).toEqual([
      { type: 'paused', at: 1700000000250 },
      { type: 'resumed', at: 1700000000250 },
      { type: 'shutdown', byGuest: true, cause: 'guest-shutdown', at: 1700000000250 },
    ]);
  });

  it('turns error replies into QmpCommandError with command, class and description', async () => {
    const server = await serve({
      onCommand: (command, peer) => peer.error(command['id'], 'DeviceNotFound', "Device 'nope' not found"),
    });
    const client = await connect(server);
    const error = await client.deviceDel('nope').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QmpCommandError);
    expect(error).toBeInstanceOf(EngineError);
    const commandError = error as QmpCommandError;
    expect(commandError.code).toBe('qemu-error');
    expect(commandError.command).toBe('device_del');
    expect(commandError.errorClass).toBe('DeviceNotFound');
    expect(commandError.description).toBe("Device 'nope' not found");
    expect(commandError.message).toBe("device_del failed: Device 'nope' not found");
    expect(commandError.toInfo().details).toEqual({ command: 'device_del', errorClass: 'DeviceNotFound', description: "Device 'nope' not found" });
  });

  it('times a command out, drops its late reply and stays usable', async () => {
    const log = recordingLog();
    let first: Json | undefined;
    const server = await serve({
      onCommand: (command, peer) => {
        if (!first) {
          first = command;
          return;
        }
        peer.reply(first['id'], 'late');
        peer.reply(command['id'], 'on time');
      },
    });
    const client = await connect(server, { log });
    const error = await client['execute']('query-name', {}, { timeoutMs: 100 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QmpTimeoutError);
    expect((error as QmpTimeoutError).code).toBe('timeout');
    expect((error as QmpTimeoutError).message).toBe('query-name failed: QEMU did not reply within 100 ms');
    expect(await client['execute']('query-uuid')).toBe('on time');
    expect(log.lines.some((line) => line.level === 'debug' && line.message.includes('after its command timed out'))).toBe(true);
  });

  it('uses the default command timeout from connect', async () => {
    const server = await serve({ onCommand: () => {} });
    const client = await connect(server, { commandTimeoutMs: 150 });
    await expect(client['execute']('query-status')).rejects.toBeInstanceOf(QmpTimeoutError);
  });

  it('rejects everything pending when the server closes mid-command, and later commands at once', async () => {
    let seen = 0;
    const server = await serve({
      onCommand: (_command, peer) => {
        if (++seen === 2) peer.end();
      },
    });
    const client = await connect(server);
    const closes: unknown[] = [];
    client.onClose((info) => closes.push(info));
    const results = await Promise.allSettled([client['execute']('cont'), client['execute']('stop')]);
    for (const result of results) {
      expect(result.status).toBe('rejected');
      const reason = (result as PromiseRejectedResult).reason as QmpClosedError;
      expect(reason).toBeInstanceOf(QmpClosedError);
      expect(reason.code).toBe('unavailable');
      expect(reason.message).toMatch(/^(cont|stop) failed: QEMU closed the QMP connection before replying$/);
    }
    expect(client.closed).toBe(true);
    expect(closes).toHaveLength(1);
    await expect(client['execute']('query-status')).rejects.toBeInstanceOf(QmpClosedError);
    // A listener added after the close is told at once.
    let late = false;
    client.onClose(() => (late = true));
    expect(late).toBe(true);
  });

  it('skips a garbage line, logs it, and carries on', async () => {
    const log = recordingLog();
    const server = await serve({
      onCommand: (command, peer) => {
        peer.raw('this is not json\n[1,2]\n');
        peer.reply(command['id'], 'fine');
      },
    });
    const client = await connect(server, { log });
    expect(await client['execute']('query-name')).toBe('fine');
    const warnings = log.lines.filter((line) => line.level === 'warn').map((line) => line.message);
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toContain('this is not json');
    expect(warnings[1]).toContain('not a JSON object');
  });

  it('logs an id-less error reply without failing a pending command', async () => {
    const log = recordingLog();
    const server = await serve({
      onCommand: (command, peer) => {
        peer.send({ error: { class: 'GenericError', desc: 'JSON parse error, invalid keyword' } });
        peer.reply(command['id'], 'ok');
      },
    });
    const client = await connect(server, { log });
    expect(await client['execute']('query-name')).toBe('ok');
    expect(log.lines.some((line) => line.message.includes('JSON parse error'))).toBe(true);
  });

  it('ignores unknown events with a debug line', async () => {
    const log = recordingLog();
    const server = await serve({
      onCommand: (command, peer) => {
        peer.event('SOMETHING_NEW', { x: 1 });
        peer.event('POWERDOWN');
        peer.reply(command['id']);
      },
    });
    const client = await connect(server, { log });
    const events: VmDomainEvent[] = [];
    client.onEvent((event) => events.push(event));
    await client.systemPowerdown();
    expect(events.map((event) => event.type)).toEqual(['powerdownRequested']);
    expect(log.lines).toContainEqual({ level: 'debug', message: 'QMP event SOMETHING_NEW ignored (not in the event table)' });
  });

  it('keeps delivering events when one listener throws', async () => {
    const server = await serve({
      onCommand: (command, peer) => {
        peer.event('STOP');
        peer.reply(command['id']);
      },
    });
    const client = await connect(server, { log: recordingLog() });
    const seen: string[] = [];
    client.onEvent(() => {
      throw new Error('bad listener');
    });
    const off = client.onEvent((event) => seen.push(event.type));
    await client.stop();
    expect(seen).toEqual(['paused']);
    off();
  });

  it('quit resolves when QEMU replies and closes the connection', async () => {
    const server = await serve({
      onCommand: (command, peer) => {
        if (command['execute'] === 'quit') {
          peer.event('SHUTDOWN', { guest: false, reason: 'host-qmp-quit' });
          peer.reply(command['id']);
          peer.end();
        }
      },
    });
    const client = await connect(server);
    const events: VmDomainEvent[] = [];
    client.onEvent((event) => events.push(event));
    await client.quit(2000);
    expect(client.closed).toBe(true);
    expect(events).toEqual([{ type: 'shutdown', byGuest: false, cause: 'host-qmp-quit', at: 1700000000250 }]);
  });

  it('quit treats a close before the reply as success', async () => {
    const server = await serve({ onCommand: (_command, peer) => peer.destroy() });
    const client = await connect(server);
    await client.quit(2000);
    expect(client.closed).toBe(true);
  });

  it('close() rejects pending commands as closed by the client', async () => {
    const server = await serve({ onCommand: () => {} });
    const client = await QmpClient.connect(server.path, { timeoutMs: 2000 });
    const pending = client['execute']('query-status').catch((e: unknown) => e);
    await client.close();
    const error = (await pending) as QmpClosedError;
    expect(error).toBeInstanceOf(QmpClosedError);
    expect(error.message).toBe('query-status failed: the QMP client was closed');
  });

  it('wrappers send the QMP arguments QEMU expects', async () => {
    const server = await serve({ onCommand: echo });
    const client = await connect(server);
    await client.screendumpPng('/tmp/x.png');
    await client.sendKeys(['ctrl', 'alt', 'delete'], 50);
    await client.listTypes('device');
    await client.setBalloonBytes(256 * 1024 * 1024);
    await client.setVncPassword('secret');
    await client.expireVncPassword('+30');
    const sent = server.peer.received.slice(1).map((c) => [c['execute'], c['arguments']]);
    expect(sent).toEqual([
      ['screendump', { filename: '/tmp/x.png', format: 'png' }],
      ['send-key', { keys: [{ type: 'qcode', data: 'ctrl' }, { type: 'qcode', data: 'alt' }, { type: 'qcode', data: 'delete' }], 'hold-time': 50 }],
      ['qom-list-types', { abstract: false, implements: 'device' }],
      ['balloon', { value: 268435456 }],
      ['set_password', { protocol: 'vnc', password: 'secret' }],
      ['expire_password', { protocol: 'vnc', time: '+30' }],
    ]);
  });
});
