import { describe, expect, it } from 'vitest';
import { EngineError } from '../../../engine/api/errors';
import { validateInterfaceName } from '../../../engine/network/interface-names';
import { validateNetworkName } from '../../../engine/network/network-names';
import { assertUniqueMacs, randomMac, validateMac } from '../../../engine/network/mac';

describe('interface names', () => {
  it.each(['br0', 'virbr10', 'vd-lab.1', 'a23456789012345'])('accepts %j', (name) => {
    expect(validateInterfaceName(name)).toBe(name);
  });

  it('refuses names over IFNAMSIZ-1 characters, naming the limit', () => {
    expect(() => validateInterfaceName('a234567890123456')).toThrow(/16 characters long; the kernel allows at most 15/);
  });

  it.each(['', 'br 0', 'br/0', 'br:0', '0br', '.', '..', '-br', 'brü', 'br$0'])('refuses %j', (name) => {
    expect(() => validateInterfaceName(name)).toThrow(EngineError);
  });
});

describe('network names', () => {
  it.each(['default', 'lab-net', 'net_2', '10net'])('accepts %j', (name) => {
    expect(validateNetworkName(name)).toBe(name);
  });
  it.each(['', '-x', 'a b', 'a/b', 'a.b', 'x'.repeat(33), '../etc'])('refuses %j', (name) => {
    expect(() => validateNetworkName(name)).toThrow(EngineError);
  });
});

describe('MAC addresses', () => {
  it('normalises case', () => {
    expect(validateMac('52:54:00:AB:cd:EF')).toBe('52:54:00:ab:cd:ef');
  });
  it.each(['52:54:00:ab:cd', '52-54-00-ab-cd-ef', '5254.00ab.cdef', '52:54:00:ab:cd:eg', ''])('refuses %j', (mac) => {
    expect(() => validateMac(mac)).toThrow(/not a MAC address/);
  });
  it('refuses multicast addresses', () => {
    expect(() => validateMac('01:00:5e:00:00:01')).toThrow(/multicast/);
  });
  it('makes valid random MACs in 52:54:00', () => {
    for (let i = 0; i < 20; i++) expect(validateMac(randomMac())).toMatch(/^52:54:00:/);
  });
  it('refuses duplicates, naming both owners', () => {
    expect(() => assertUniqueMacs([{ mac: '52:54:00:00:00:01', owner: 'vm a nic 0' }, { mac: '52:54:00:00:00:02', owner: 'vm b nic 0' }])).not.toThrow();
    let error: unknown;
    try {
      assertUniqueMacs([{ mac: '52:54:00:00:00:01', owner: 'vm a nic 0' }, { mac: '52:54:00:00:00:01'.toUpperCase(), owner: 'vm b nic 1' }]);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(EngineError);
    expect((error as EngineError).code).toBe('conflict');
    expect((error as EngineError).message).toContain('vm a nic 0');
    expect((error as EngineError).message).toContain('vm b nic 1');
  });
});
