import { describe, expect, it } from 'vitest';
import { XdrCodec } from '../../../engine/libvirt/xdr/codec';
import type { XdrSchema } from '../../../engine/libvirt/xdr/schema';
import { protocolCodec } from '../../../engine/libvirt/protocol/protocol';

const hex = (data: Buffer) => data.toString('hex');

describe('XDR codec (RFC 4506 encodings)', () => {
  const schemas: Record<string, XdrSchema> = {
    point: { struct: [['x', 'int'], ['y', 'uint']] },
    name: { string: 8 },
    maybe: { optional: 'point' },
    list: { array: 'int', max: 3 },
    fixed: { array: 'uint', max: 2, fixed: true },
    uuid: { opaque: 4, fixed: true },
    blob: { opaque: 5 },
    big: 'hyper',
    ubig: 'uhyper',
    flag: 'bool',
    real: 'double',
    color: { enum: [1, 2] },
    value: { union: ['type', 'int'], arms: [[[1], ['i', 'int']], [[2, 3], ['s', { string: 100 }]], [[4], null]] },
  };
  type Types = {
    point: { x: number; y: number }; name: string; maybe: { x: number; y: number } | null; list: number[];
    fixed: number[]; uuid: Uint8Array; blob: Uint8Array; big: bigint; ubig: bigint; flag: boolean; real: number;
    color: number; value: { type: 1; i: number } | { type: 2 | 3; s: string } | { type: 4 };
  };
  const codec = new XdrCodec<Types>(schemas);

  it('encodes integers big-endian in 4 bytes, signed and unsigned', () => {
    expect(hex(codec.encode('point', { x: -2, y: 0xfffffffe }))).toBe('fffffffe' + 'fffffffe');
  });

  it('pads strings and variable opaque data to 4 bytes after a length', () => {
    expect(hex(codec.encode('name', 'abcde'))).toBe('00000005' + '6162636465000000');
    expect(hex(codec.encode('blob', Buffer.from('hi')))).toBe('00000002' + '68690000');
    expect(codec.decode('name', Buffer.from('000000036869210000', 'hex').subarray(0, 8))).toBe('hi!');
  });

  it('writes fixed opaque data and fixed arrays without a length', () => {
    expect(hex(codec.encode('uuid', Buffer.from('01020304', 'hex')))).toBe('01020304');
    expect(hex(codec.encode('fixed', [1, 2]))).toBe('0000000100000002');
  });

  it('marks optional data with 0 or 1', () => {
    expect(hex(codec.encode('maybe', null))).toBe('00000000');
    expect(hex(codec.encode('maybe', { x: 1, y: 2 }))).toBe('00000001' + '00000001' + '00000002');
    expect(codec.decode('maybe', Buffer.from('00000000', 'hex'))).toBeNull();
  });

  it('round-trips 64-bit values exactly as bigint', () => {
    expect(hex(codec.encode('big', -1n))).toBe('ffffffffffffffff');
    expect(codec.decode('ubig', Buffer.from('ffffffffffffffff', 'hex'))).toBe(18446744073709551615n);
    expect(codec.decode('big', codec.encode('big', 5 as unknown as bigint))).toBe(5n); // plain integers are accepted too
  });

  it('encodes booleans, doubles and enums', () => {
    expect(hex(codec.encode('flag', true))).toBe('00000001');
    expect(codec.decode('real', codec.encode('real', 1.5))).toBe(1.5);
    expect(hex(codec.encode('color', 2))).toBe('00000002');
  });

  it('encodes a union as its discriminant and the chosen arm', () => {
    expect(hex(codec.encode('value', { type: 1, i: 7 }))).toBe('00000001' + '00000007');
    expect(codec.decode('value', Buffer.from('00000003' + '00000001' + '78000000', 'hex'))).toEqual({ type: 3, s: 'x' });
    expect(codec.decode('value', Buffer.from('00000004', 'hex'))).toEqual({ type: 4 });
  });

  it('refuses values that do not fit, naming the field', () => {
    expect(() => codec.encode('name', 'far too long')).toThrow(/name: string of 12 bytes exceeds 8/);
    expect(() => codec.encode('point', { x: 1.5, y: 0 })).toThrow(/point\.x: 1\.5 does not fit a signed 32-bit integer/);
    expect(() => codec.encode('point', { x: 0, y: -1 })).toThrow(/point\.y: -1 does not fit an unsigned/);
    expect(() => codec.encode('list', [1, 2, 3, 4])).toThrow(/list: 4 elements where at most 3 fit/);
    expect(() => codec.encode('color', 3)).toThrow(/not one of the enum's values/);
    expect(() => codec.encode('value', { type: 9 } as never)).toThrow(/no union arm for type = 9/);
    expect(() => codec.encode('ubig', -1n)).toThrow(/does not fit an unsigned 64-bit integer/);
  });

  it('refuses truncated, oversized and over-long input', () => {
    expect(() => codec.decode('point', Buffer.from('00000001', 'hex'))).toThrow(/needs 4 bytes at offset 4/);
    expect(() => codec.decode('name', Buffer.from('00000009' + '00'.repeat(12), 'hex'))).toThrow(/9 bytes exceeds 8/);
    expect(() => codec.decode('list', Buffer.from('00000002' + '00000001', 'hex'))).toThrow(/cannot fit/);
    expect(() => codec.decode('flag', Buffer.from('0000000100000000', 'hex'))).toThrow(/4 bytes left over/);
    expect(() => codec.decode('maybe', Buffer.from('00000002', 'hex'))).toThrow(/optional marker 2/);
  });
});

describe('the generated libvirt protocol types', () => {
  it('encode a typed parameter union as libvirt does', () => {
    const encoded = protocolCodec.encode('remote_typed_param', { field: 'cpu.time', value: { type: 4, ul: 1234567890123n } });
    expect(hex(encoded)).toBe('00000008' + hex(Buffer.from('cpu.time')) + '00000004' + '0000011f71fb04cb');
    expect(protocolCodec.decode('remote_typed_param', encoded)).toEqual({ field: 'cpu.time', value: { type: 4, ul: 1234567890123n } });
  });

  it('grow their buffer across every kind of field (a 553-byte XML then the flags after it)', () => {
    const xml = 'x'.repeat(553);
    const encoded = protocolCodec.encode('remote_domain_define_xml_flags_args', { xml, flags: 7 });
    expect(encoded.length).toBe(4 + 556 + 4);
    expect(protocolCodec.decode('remote_domain_define_xml_flags_args', encoded)).toEqual({ xml, flags: 7 });
    for (let size = 240; size < 270; size++) {
      const stats = { field: 'f'.repeat(size), value: { type: 4 as const, ul: 1n << 40n } };
      expect(protocolCodec.decode('remote_typed_param', protocolCodec.encode('remote_typed_param', stats))).toEqual(stats);
    }
  });

  it('encode optional strings (remote_string) as a marker and a string', () => {
    expect(hex(protocolCodec.encode('remote_connect_open_args', { name: 'test:///default', flags: 0 })))
      .toBe('00000001' + '0000000f' + hex(Buffer.from('test:///default')) + '00' + '00000000');
  });
});
