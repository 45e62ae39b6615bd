import { describe, expect, it } from 'vitest';
import { createVmDefinition, generateMac, isValidMac, MAC_PREFIX } from '../../../engine/model';
import { makeVm, thrown } from './helpers';

describe('generateMac', () => {
  it('makes 52:54:00:xx:xx:xx addresses', () => {
    for (let i = 0; i < 50; i++) expect(generateMac(new Set())).toMatch(/^52:54:00(:[0-9a-f]{2}){3}$/);
  });

  it('never returns a taken address, whatever its case', () => {
    const bytes = [
      [1, 2, 3],
      [1, 2, 3],
      [0xab, 0xcd, 0xef],
      [4, 5, 6],
    ];
    const random = () => Uint8Array.from(bytes.shift()!);
    expect(generateMac(new Set(['52:54:00:01:02:03', '52:54:00:AB:CD:EF']), random)).toBe('52:54:00:04:05:06');
  });

  it('gives up with resource-exhausted when every try is taken', () => {
    const error = thrown(() => generateMac(new Set([`${MAC_PREFIX}:00:00:00`]), () => new Uint8Array(3)));
    expect(error.code).toBe('resource-exhausted');
    expect(error.hint).toMatch(/MAC address of your own/);
  });

  it('keeps generated addresses unique across all definitions and within one', () => {
    const existing = [makeVm({ name: 'one', nics: [{}, {}] }), makeVm({ name: 'two', nics: [{}] })];
    const taken = new Set(existing.flatMap((d) => d.nics.map((n) => n.mac)));
    for (let i = 0; i < 20; i++) {
      const def = makeVm({ name: `new${i}`, nics: [{}, {}, {}] }, { existing });
      const macs = def.nics.map((n) => n.mac);
      expect(new Set(macs).size).toBe(3);
      for (const mac of macs) expect(taken.has(mac)).toBe(false);
    }
  });
});

describe('MAC validation', () => {
  it.each(['52:54:00:12:34:56', '02:00:00:00:00:01', 'AC:BB:CC:DD:EE:FF'])('accepts %j', (mac) => expect(isValidMac(mac)).toBe(true));
  it.each(['52:54:00:12:34', '52-54-00-12-34-56', '01:00:5e:00:00:01', '00:00:00:00:00:00', 'zz:54:00:12:34:56'])('refuses %j', (mac) =>
    expect(isValidMac(mac)).toBe(false),
  );

  it('stores a given MAC lower-case and refuses a multicast one', () => {
    expect(createVmDefinition({ name: 'm', nics: [{ mac: '52:54:00:AA:BB:CC' }] }).nics[0]!.mac).toBe('52:54:00:aa:bb:cc');
    expect(thrown(() => createVmDefinition({ name: 'm', nics: [{ mac: '01:54:00:aa:bb:cc' }] })).message).toMatch(/nics\.0\.mac: MAC address "01:54:00:aa:bb:cc" is a multicast address/);
  });
});
