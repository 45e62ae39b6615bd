import { describe, expect, it } from 'vitest';
import { EngineError } from '../../../engine/api/errors';
import { buildNetworkDefinition, type NetworkDefinition } from '../../../engine/network/network-definition';
import { OPERATION_NAMES, parsePrivilegedOperation } from '../../../engine/network/privileged/operations';
import { helperMain } from '../../../engine/network/privileged/helper';

const net: NetworkDefinition = buildNetworkDefinition({ name: 'lab', ipv4: '10.251.0.1/24' }, { bridges: [], subnets: [] }, '00000000-0000-4000-8000-000000000001');

function refusal(value: unknown): string {
  try {
    parsePrivilegedOperation(value);
  } catch (error) {
    expect(error).toBeInstanceOf(EngineError);
    expect((error as EngineError).code).toBe('invalid-argument');
    return (error as EngineError).message;
  }
  throw new Error(`accepted ${JSON.stringify(value)}`);
}

describe('privileged operations', () => {
  it('has exactly the fixed list', () => {
    expect([...OPERATION_NAMES].sort()).toEqual([
      'bridge.create', 'bridge.delete', 'dnsmasq.start', 'dnsmasq.stop', 'hostbridge.create', 'hostbridge.delete',
      'ipforward.enable', 'nft.apply', 'nft.remove', 'tap.add', 'tap.remove',
    ]);
  });

  it('accepts valid operations', () => {
    expect(parsePrivilegedOperation({ op: 'bridge.create', bridge: 'vdbr0', network: 'lab', ipv4: '10.251.0.1/24' }).op).toBe('bridge.create');
    expect(parsePrivilegedOperation({ op: 'tap.add', tap: 'vdtap0123456789', bridge: 'vdbr0', uid: 1000 }).op).toBe('tap.add');
    expect(parsePrivilegedOperation({ op: 'nft.apply', network: net }).op).toBe('nft.apply');
    expect(parsePrivilegedOperation({ op: 'ipforward.enable' }).op).toBe('ipforward.enable');
  });

  it('refuses unknown operations and unknown fields', () => {
    expect(refusal({ op: 'shell', command: 'rm -rf /' })).toMatch(/op/);
    expect(refusal({ op: 'bridge.delete', bridge: 'vdbr0', extra: 1 })).toMatch(/extra/);
    expect(refusal('bridge.delete')).toMatch(/Invalid privileged operation/);
  });

  it('refuses bad interface names, naming the field', () => {
    expect(refusal({ op: 'bridge.delete', bridge: 'eth0; reboot' })).toMatch(/bridge: interface name "eth0; reboot" may only contain/);
    expect(refusal({ op: 'tap.remove', tap: 'a234567890123456' })).toMatch(/at most 15/);
    expect(refusal({ op: 'hostbridge.create', bridge: 'br0', interface: '' })).toMatch(/interface: .*is empty/);
  });

  it('refuses bad CIDRs, uids and network names', () => {
    expect(refusal({ op: 'bridge.create', bridge: 'vdbr0', network: 'lab', ipv4: '10.251.0.0/24' })).toMatch(/network address/);
    expect(refusal({ op: 'bridge.create', bridge: 'vdbr0', network: 'lab', ipv4: '10.251.0.1' })).toMatch(/not an IPv4 CIDR/);
    expect(refusal({ op: 'tap.add', tap: 'vdtap0', bridge: 'vdbr0', uid: -1 })).toMatch(/uid/);
    expect(refusal({ op: 'dnsmasq.stop', network: '../../etc' })).toMatch(/network name/);
  });

  it('refuses a network spec whose DHCP range includes the gateway', () => {
    expect(refusal({ op: 'dnsmasq.start', network: { ...net, dhcp: { start: '10.251.0.1', end: '10.251.0.9' } } })).toMatch(/dhcp: .*contains the network's own address/);
    expect(refusal({ op: 'nft.apply', network: { ...net, bridge: 'x'.repeat(16) } })).toMatch(/network.bridge/);
  });
});

describe('helper entry', () => {
  it('answers one JSON line and refuses invalid JSON and invalid operations', async () => {
    const bad = await helperMain(['{not json'], {});
    expect(bad.exitCode).toBe(1);
    expect(JSON.parse(bad.output)).toMatchObject({ ok: false, error: { code: process.geteuid?.() === 0 ? 'invalid-argument' : 'permission-denied' } });
    const unknown = await helperMain([JSON.stringify({ op: 'nope' })], {});
    expect(unknown.exitCode).toBe(1);
    expect(await helperMain([], {})).toMatchObject({ exitCode: 1 });
  });

  it('refuses a tap for another user than the pkexec caller', async () => {
    if (process.geteuid?.() !== 0) return;
    const out = await helperMain([JSON.stringify({ op: 'tap.add', tap: 'vdtap0', bridge: 'vdbr0', uid: 0 })], { PKEXEC_UID: '1000' });
    expect(out.exitCode).toBe(1);
    expect(JSON.parse(out.output).error.message).toMatch(/only be created for the calling user \(uid 1000\)/);
  });
});
