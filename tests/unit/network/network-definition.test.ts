import { describe, expect, it } from 'vitest';
import { buildNetworkDefinition, firstFreeBridge, firstFreeSubnet, parseNetworkDefinition } from '../../../engine/network/network-definition';
import { assertNoClash } from '../../../engine/network/network-store';
import { parseLeaseFile } from '../../../engine/network/leases';
import { tapNameFor } from '../../../engine/network/tap-names';

const ID = '00000000-0000-4000-8000-000000000001';
const none = { bridges: [], subnets: [] };

describe('network definitions', () => {
  it('fills libvirt-like defaults', () => {
    expect(buildNetworkDefinition({ name: 'default' }, none, ID)).toEqual({
      schemaVersion: 1,
      id: ID,
      name: 'default',
      mode: 'nat',
      bridge: 'vdbr0',
      ipv4: '192.168.100.1/24',
      dhcp: { start: '192.168.100.2', end: '192.168.100.254' },
      dns: true,
      autostart: false,
    });
  });

  it('skips taken bridges and subnets', () => {
    expect(firstFreeBridge(['vdbr0', 'vdbr1'])).toBe('vdbr2');
    expect(firstFreeSubnet(['192.168.100.1/24', '192.168.96.0/22'])).toBe('192.168.101.1/24');
    expect(firstFreeSubnet(['192.168.100.0/23'])).toBe('192.168.102.1/24');
  });

  it('refuses invalid input with invalid-argument', () => {
    expect(() => buildNetworkDefinition({ name: 'a b' }, none, ID)).toThrow(/name/);
    expect(() => buildNetworkDefinition({ name: 'x', bridge: 'a-very-long-bridge' }, none, ID)).toThrow(/bridge: interface name .* at most 15/);
    expect(() => buildNetworkDefinition({ name: 'x', ipv4: '10.0.0.0/24' }, none, ID)).toThrow(/network address/);
    expect(() => buildNetworkDefinition({ name: 'x', ipv4: '10.0.0.1/24', dhcp: { start: '10.0.1.2', end: '10.0.1.9' } }, none, ID)).toThrow(/dhcp: .*outside/);
    expect(() => buildNetworkDefinition({ name: 'x', mode: 'isolated', uplink: 'eth0' }, none, ID)).toThrow(/uplink: an isolated network has no uplink/);
    expect(() => parseNetworkDefinition({ schemaVersion: 1, id: ID, name: 'x', mode: 'bridge', bridge: 'b', ipv4: '10.0.0.1/24', dns: true, autostart: false })).toThrow(/mode/);
  });

  it('refuses definitions that clash with others', () => {
    const a = buildNetworkDefinition({ name: 'a', ipv4: '10.10.0.1/16', bridge: 'vdbr0' }, none, ID);
    expect(() => assertNoClash(buildNetworkDefinition({ name: 'b', ipv4: '10.20.0.1/24', bridge: 'vdbr0' }, none), [a])).toThrow(/Bridge vdbr0 is already used by network a/);
    expect(() => assertNoClash(buildNetworkDefinition({ name: 'b', ipv4: '10.10.5.1/24', bridge: 'vdbr1' }, none), [a])).toThrow(/overlaps network a's 10.10.0.0\/16/);
    expect(() => assertNoClash(buildNetworkDefinition({ name: 'b', ipv4: '10.11.0.1/24', bridge: 'vdbr1' }, none), [a])).not.toThrow();
  });
});

describe('dnsmasq lease files', () => {
  it('parses leases, skipping expired and malformed lines', () => {
    const now = new Date('2026-01-01T00:00:00Z');
    const future = Math.floor(now.getTime() / 1000) + 3600;
    const text = [
      `${future} 52:54:00:AA:bb:01 10.251.0.17 guest1 01:52:54:00:aa:bb:01`,
      `0 52:54:00:aa:bb:02 10.251.0.18 * *`,
      `1000 52:54:00:aa:bb:03 10.251.0.19 old *`,
      'garbage line',
      'duid 00:01:00:01',
    ].join('\n');
    expect(parseLeaseFile(text, now)).toEqual([
      { mac: '52:54:00:aa:bb:01', ip: '10.251.0.17', hostname: 'guest1', expiresAt: new Date(future * 1000).toISOString(), clientId: '01:52:54:00:aa:bb:01' },
      { mac: '52:54:00:aa:bb:02', ip: '10.251.0.18', hostname: undefined, expiresAt: undefined, clientId: undefined },
    ]);
  });
});

describe('tap names', () => {
  it('are stable, distinct and within IFNAMSIZ', () => {
    const a = tapNameFor('vm-1', 'net0');
    expect(a).toBe(tapNameFor('vm-1', 'net0'));
    expect(a).not.toBe(tapNameFor('vm-1', 'net1'));
    expect(a).toMatch(/^vdtap[0-9a-f]{10}$/);
    expect(a.length).toBe(15);
  });
});
