// Packets recorded between virsh 9.0.0 and libvirtd 9.0.0 (tests/fixtures/libvirt/*.json):
// the framing cuts them out of a byte stream, the generated types decode every payload, and
// encoding the decoded values gives back the same bytes.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PacketDecoder, encodePacket, type Packet } from '../../../engine/libvirt/rpc/packet';
import { procedureName, protocolCodec, remoteProcedures, REMOTE_PROGRAM, type XdrTypeMap } from '../../../engine/libvirt/protocol/protocol';

interface Recording { packets: { dir: 'c2s' | 's2c'; hex: string }[] }
const load = (name: string): Recording => JSON.parse(readFileSync(new URL(`../../fixtures/libvirt/${name}.json`, import.meta.url), 'utf8')) as Recording;

/** Both directions' packets, decoded from the recorded byte stream fed in 7-byte pieces. */
function packetsOf(recording: Recording): { dir: string; packet: Packet; raw: Buffer }[] {
  const decoders = { c2s: new PacketDecoder(), s2c: new PacketDecoder() };
  const result: { dir: string; packet: Packet; raw: Buffer }[] = [];
  for (const { dir, hex } of recording.packets) {
    const raw = Buffer.from(hex, 'hex');
    const found: Packet[] = [];
    for (let at = 0; at < raw.length; at += 7) found.push(...decoders[dir].push(raw.subarray(at, at + 7)));
    expect(found).toHaveLength(1);
    result.push({ dir, packet: found[0]!, raw });
  }
  return result;
}

type PayloadType = keyof XdrTypeMap;
function payloadType({ header }: Packet): PayloadType | null {
  const name = procedureName(header.proc);
  if (!name) throw new Error(`unknown procedure ${header.proc}`);
  const entry = remoteProcedures[name];
  if (header.status === 1) return 'virNetMessageError';
  return header.type === 0 ? entry.args : header.type === 1 ? entry.ret : entry.msg;
}

describe.each(['list-all', 'lookup-error', 'lifecycle-events'])('recorded session %s', (name) => {
  it('decodes every packet and re-encodes it byte for byte', () => {
    for (const { packet, raw } of packetsOf(load(name))) {
      expect(packet.header.prog).toBe(REMOTE_PROGRAM);
      const type = payloadType(packet);
      const value = type ? protocolCodec.decode(type, packet.payload) : undefined;
      if (!type) expect(packet.payload.length).toBe(0);
      const payload = type ? protocolCodec.encode(type, value as never) : undefined;
      expect(encodePacket(packet.header, payload).toString('hex')).toBe(raw.toString('hex'));
    }
  });
});

describe('recorded payloads', () => {
  it('list all domains: the test driver\'s one running domain', () => {
    const reply = packetsOf(load('list-all')).find(({ dir, packet }) => dir === 's2c' && packet.header.proc === remoteProcedures.CONNECT_LIST_ALL_DOMAINS.proc)!;
    const ret = protocolCodec.decode('remote_connect_list_all_domains_ret', reply.packet.payload);
    expect(ret.domains.map((domain) => [domain.name, domain.id, Buffer.from(domain.uuid).toString('hex')]))
      .toEqual([['test', 1, '6695eb01f6a4830479aa97f2502e193f']]);
    expect(ret.ret).toBe(1);
  });

  it('an error reply carries libvirt\'s code, domain and message', () => {
    const reply = packetsOf(load('lookup-error')).find(({ packet }) => packet.header.status === 1)!;
    expect(reply.packet.header.proc).toBe(remoteProcedures.DOMAIN_LOOKUP_BY_NAME.proc);
    const error = protocolCodec.decode('virNetMessageError', reply.packet.payload);
    expect(error).toMatchObject({ code: 42, domain: 12, message: 'Domain not found', level: 2, str1: 'Domain not found' });
  });

  it('lifecycle events arrive as messages for the registered callback', () => {
    const events = packetsOf(load('lifecycle-events')).filter(({ packet }) => packet.header.type === 2);
    const messages = events.map(({ packet }) => protocolCodec.decode('remote_domain_event_callback_lifecycle_msg', packet.payload));
    expect(messages.map((message) => [message.callbackID, message.msg.dom.name, message.msg.event, message.msg.detail])).toEqual([
      [0, 'test', 3, 0], // VIR_DOMAIN_EVENT_SUSPENDED, _PAUSED
      [0, 'test', 4, 0], // VIR_DOMAIN_EVENT_RESUMED, _UNPAUSED
    ]);
  });
});

describe('PacketDecoder', () => {
  it('refuses a length no libvirt peer sends', () => {
    expect(() => new PacketDecoder().push(Buffer.from('00000004', 'hex'))).toThrow(/outside libvirt's limits/);
    expect(() => new PacketDecoder().push(Buffer.from('48545450', 'hex'))).toThrow(/not a libvirt peer/);
  });

  it('cuts several packets out of one chunk', () => {
    const header = { prog: REMOTE_PROGRAM, vers: 1, proc: 2, type: 0, serial: 1, status: 0 };
    const both = Buffer.concat([encodePacket(header), encodePacket({ ...header, serial: 2 }, Buffer.from('abcd'))]);
    const packets = new PacketDecoder().push(both);
    expect(packets.map((packet) => [packet.header.serial, packet.payload.toString()])).toEqual([[1, ''], [2, 'abcd']]);
  });
});
