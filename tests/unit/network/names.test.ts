import { describe, expect, it } from 'vitest';
import { EngineError } from '../../../engine/api/errors';
import { validateInterfaceName } from '../../../engine/model/net/interface-names';
import { validateNetworkName } from '../../../engine/model/net/network-names';

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
