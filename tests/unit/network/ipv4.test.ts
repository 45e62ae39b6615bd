import { describe, expect, it } from 'vitest';
import { EngineError } from '../../../engine/api/errors';
import {
  assertUsableHostAddress,
  cidrContains,
  cidrsOverlap,
  formatCidr,
  formatIpv4,
  formatNetmask,
  formatSubnet,
  parseCidr,
  tryParseIpv4,
} from '../../../engine/model/net/ipv4';
import { defaultDhcpRange, validateDhcpRange } from '../../../engine/network/dhcp-range';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return error instanceof EngineError ? error.code : 'not-engine-error';
  }
  return undefined;
}

describe('IPv4 parsing', () => {
  it('round-trips addresses', () => {
    expect(tryParseIpv4('192.168.100.1')).toBe(0xc0a86401);
    expect(formatIpv4(0xc0a86401)).toBe('192.168.100.1');
    expect(formatIpv4(0xffffffff)).toBe('255.255.255.255');
    expect(tryParseIpv4('0.0.0.0')).toBe(0);
  });

  it.each(['256.1.1.1', '1.2.3', '1.2.3.4.5', '01.2.3.4', 'a.b.c.d', '', '1..2.3', ' 1.2.3.4', '1.2.3.-4'])('refuses %j', (text) => {
    expect(tryParseIpv4(text)).toBeUndefined();
  });

  it('parses CIDRs and derives the subnet', () => {
    const cidr = parseCidr('192.168.100.1/24');
    expect(formatSubnet(cidr)).toBe('192.168.100.0/24');
    expect(formatIpv4(cidr.broadcast)).toBe('192.168.100.255');
    expect(formatCidr(cidr)).toBe('192.168.100.1/24');
    expect(formatNetmask(20)).toBe('255.255.240.0');
    expect(formatNetmask(0)).toBe('0.0.0.0');
    expect(formatSubnet(parseCidr('10.1.2.3/0'))).toBe('0.0.0.0/0');
    expect(parseCidr('10.0.0.1', 'x', { allowBareAddress: true }).prefix).toBe(32);
  });

  it.each(['192.168.100.1', '192.168.100.1/33', '192.168.100.1/', '192.168.100.1/024', '192.168.1/24', '300.1.1.1/8', '10.0.0.1/a'])('refuses CIDR %j with invalid-argument', (text) => {
    expect(codeOf(() => parseCidr(text))).toBe('invalid-argument');
  });

  it('tests containment and overlap', () => {
    const a = parseCidr('10.0.0.0/16');
    expect(cidrContains(a, tryParseIpv4('10.0.255.255')!)).toBe(true);
    expect(cidrContains(a, tryParseIpv4('10.1.0.0')!)).toBe(false);
    expect(cidrsOverlap(a, parseCidr('10.0.5.0/24'))).toBe(true);
    expect(cidrsOverlap(parseCidr('10.0.5.0/24'), a)).toBe(true);
    expect(cidrsOverlap(a, parseCidr('10.1.0.0/24'))).toBe(false);
  });

  it('refuses the network and broadcast address as a host address', () => {
    expect(codeOf(() => assertUsableHostAddress(parseCidr('192.168.1.0/24'), 'bridge address'))).toBe('invalid-argument');
    expect(codeOf(() => assertUsableHostAddress(parseCidr('192.168.1.255/24'), 'bridge address'))).toBe('invalid-argument');
    expect(codeOf(() => assertUsableHostAddress(parseCidr('192.168.1.1/24'), 'bridge address'))).toBeUndefined();
  });
});

describe('DHCP ranges', () => {
  const gateway = parseCidr('192.168.100.1/24');

  it('accepts a range inside the subnet that leaves out the gateway', () => {
    const range = validateDhcpRange(gateway, '192.168.100.2', '192.168.100.254');
    expect(formatIpv4(range.start)).toBe('192.168.100.2');
    expect(formatIpv4(range.end)).toBe('192.168.100.254');
  });

  it('refuses a range outside the subnet', () => {
    expect(() => validateDhcpRange(gateway, '192.168.101.2', '192.168.101.9')).toThrow(/outside the network's subnet 192.168.100.0\/24/);
    expect(() => validateDhcpRange(gateway, '192.168.100.2', '192.168.101.9')).toThrow(/end 192.168.101.9 is outside/);
  });

  it('refuses the network and broadcast addresses', () => {
    expect(() => validateDhcpRange(gateway, '192.168.100.0', '192.168.100.9')).toThrow(/network address/);
    expect(() => validateDhcpRange(gateway, '192.168.100.9', '192.168.100.255')).toThrow(/broadcast address/);
  });

  it('refuses a range containing the gateway', () => {
    expect(() => validateDhcpRange(gateway, '192.168.100.1', '192.168.100.9')).toThrow(/contains the network's own address 192.168.100.1/);
    const mid = parseCidr('10.0.0.100/24');
    expect(() => validateDhcpRange(mid, '10.0.0.2', '10.0.0.200')).toThrow(/contains/);
  });

  it('refuses a reversed range and junk', () => {
    expect(() => validateDhcpRange(gateway, '192.168.100.9', '192.168.100.2')).toThrow(/comes after/);
    expect(codeOf(() => validateDhcpRange(gateway, 'x', '192.168.100.2'))).toBe('invalid-argument');
  });

  it('derives a default range around the gateway', () => {
    const range = defaultDhcpRange(gateway)!;
    expect([formatIpv4(range.start), formatIpv4(range.end)]).toEqual(['192.168.100.2', '192.168.100.254']);
    const top = defaultDhcpRange(parseCidr('10.0.0.254/24'))!;
    expect([formatIpv4(top.start), formatIpv4(top.end)]).toEqual(['10.0.0.1', '10.0.0.253']);
    expect(defaultDhcpRange(parseCidr('10.0.0.1/32'))).toBeUndefined();
  });
});
