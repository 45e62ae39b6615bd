// RpcClient over an in-memory channel whose far end the test plays, packet by packet: what a
// real daemon rarely does on cue (going silent, pinging, answering late or out of order).
import { describe, expect, it } from 'vitest';
import { RpcClient } from '../../../engine/libvirt/rpc/client';
import { PacketDecoder, encodePacket, type Packet } from '../../../engine/libvirt/rpc/packet';
import { KEEPALIVE_PROGRAM, REMOTE_PROGRAM, protocolCodec, remoteProcedures } from '../../../engine/libvirt/protocol/protocol';
import type { ByteChannel } from '../../../engine/libvirt/transport/channel';

function pair() {
  const decoder = new PacketDecoder();
  const sent: Packet[] = [];
  let deliver: (chunk: Buffer) => void = () => {};
  let settle: (error: Error | undefined) => void = () => {};
  const channel: ByteChannel = {
    label: 'memory',
    write: (data) => { sent.push(...decoder.push(data)); },
    onData: (listener) => { deliver = listener; },
    closed: new Promise((resolve) => (settle = resolve)),
    close: () => settle(undefined),
  };
  const client = new RpcClient(channel, { host: 'fake', callTimeoutMs: 1000 });
  return { client, sent, reply: (packet: Buffer) => deliver(packet) };
}

const header = (proc: number, serial: number, type = 1, status = 0, prog = REMOTE_PROGRAM) => ({ prog, vers: 1, proc, type, serial, status });

describe('RpcClient', () => {
  it('matches replies to calls by serial, in any order', async () => {
    const { client, sent, reply } = pair();
    const first = client.call('CONNECT_GET_HOSTNAME');
    const second = client.call('CONNECT_GET_HOSTNAME');
    expect(sent.map((packet) => packet.header.serial)).toEqual([1, 2]);
    const hostname = remoteProcedures.CONNECT_GET_HOSTNAME.proc;
    reply(encodePacket(header(hostname, 2), protocolCodec.encode('remote_connect_get_hostname_ret', { hostname: 'two' })));
    reply(encodePacket(header(hostname, 1), protocolCodec.encode('remote_connect_get_hostname_ret', { hostname: 'one' })));
    expect(await Promise.all([first, second])).toEqual([{ hostname: 'one' }, { hostname: 'two' }]);
  });

  it('times a call out, and ignores its late reply', async () => {
    const { client, reply } = pair();
    const call = client.call('CONNECT_GET_HOSTNAME', undefined, { timeoutMs: 50 });
    await expect(call).rejects.toMatchObject({ code: 'timeout', message: 'fake did not answer CONNECT_GET_HOSTNAME within 0.1 s.' });
    reply(encodePacket(header(remoteProcedures.CONNECT_GET_HOSTNAME.proc, 1), protocolCodec.encode('remote_connect_get_hostname_ret', { hostname: 'late' })));
    expect(client.isOpen).toBe(true);
  });

  it('answers the daemon\'s keepalive ping with a pong', () => {
    const { sent, reply } = pair();
    reply(encodePacket(header(1, 0, 2, 0, KEEPALIVE_PROGRAM)));
    expect(sent.map((packet) => [packet.header.prog, packet.header.proc, packet.header.type])).toEqual([[KEEPALIVE_PROGRAM, 2, 2]]);
  });

  it('pings a silent daemon and declares it dead after count intervals, failing pending calls', async () => {
    const { client, sent } = pair();
    const started = Date.now();
    client.startKeepalive({ intervalMs: 100, count: 3 });
    const pending = client.call('CONNECT_GET_HOSTNAME', undefined, { timeoutMs: 5000 });
    await expect(pending).rejects.toMatchObject({ failure: 'keepalive', message: expect.stringMatching(/^fake stopped answering/) });
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(sent.filter((packet) => packet.header.prog === KEEPALIVE_PROGRAM).length).toBeGreaterThanOrEqual(1);
    expect(await client.closed).toMatchObject({ failure: 'keepalive' });
  });

  it('keeps a connection that answers alive', async () => {
    const { client, sent, reply } = pair();
    client.startKeepalive({ intervalMs: 50, count: 2 });
    const timer = setInterval(() => {
      for (const packet of sent.splice(0)) if (packet.header.prog === KEEPALIVE_PROGRAM) reply(encodePacket({ ...packet.header, proc: 2 }));
    }, 20);
    await new Promise((resolve) => setTimeout(resolve, 400));
    clearInterval(timer);
    expect(client.isOpen).toBe(true);
    client.close();
  });

  it('fails the connection on bytes that are not libvirt\'s protocol', async () => {
    const { client, reply } = pair();
    reply(Buffer.from('SSH-2.0-OpenSSH_9.2\r\n'));
    expect(await client.closed).toMatchObject({ failure: 'protocol' });
  });

  it('carries stream data for the call that opened it', async () => {
    const { client, sent, reply } = pair();
    const proc = remoteProcedures.DOMAIN_SCREENSHOT.proc;
    const opening = client.callWithStream('DOMAIN_SCREENSHOT', { dom: { name: 'a', uuid: Buffer.alloc(16), id: 1 }, screen: 0, flags: 0 });
    const serial = sent[0]!.header.serial;
    reply(encodePacket(header(proc, serial), protocolCodec.encode('remote_domain_screenshot_ret', { mime: 'image/png' })));
    const { ret, stream } = await opening;
    expect(ret.mime).toBe('image/png');
    reply(encodePacket(header(proc, serial, 3, 2), Buffer.from('ab')));
    reply(encodePacket(header(proc, serial, 3, 2), Buffer.from('cd')));
    reply(encodePacket(header(proc, serial, 3, 0)));
    expect((await stream.readAll()).toString()).toBe('abcd');
  });
});
