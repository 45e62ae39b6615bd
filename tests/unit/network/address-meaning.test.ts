// Issue 18 item 6: a network address is checked for its meaning, not only its syntax, by the
// engine (network definitions) and again by the root helper (its own operation schema).
import { describe, expect, it } from 'vitest';
import { EngineError } from '../../../engine/api/errors';
import type { CommandRunner } from '../../../engine/network/command-runner';
import { assertSubnetFree, parseIpRouteJson, readHostRoutes } from '../../../engine/network/host-routes';
import { assertNetworkAddress, parseCidr } from '../../../engine/model/net/ipv4';
import { buildNetworkDefinition } from '../../../engine/network/network-definition';
import { parsePrivilegedOperation } from '../../../engine/network/privileged/operations';

const ID = '00000000-0000-4000-8000-000000000001';
const none = { bridges: [], subnets: [] };

function engineRefusal(input: Parameters<typeof buildNetworkDefinition>[0]): string {
  try {
    buildNetworkDefinition(input, none, ID);
  } catch (error) {
    expect(error).toBeInstanceOf(EngineError);
    expect((error as EngineError).code).toBe('invalid-argument');
    return (error as EngineError).message;
  }
  throw new Error(`the engine accepted ${JSON.stringify(input)}`);
}

function helperRefusal(ipv4: string): string {
  try {
    parsePrivilegedOperation({ op: 'bridge.create', bridge: 'vdbr0', network: 'lab', ipv4 });
  } catch (error) {
    expect((error as EngineError).code).toBe('invalid-argument');
    return (error as EngineError).message;
  }
  throw new Error(`the helper accepted bridge.create with ${ipv4}`);
}

describe('network address meaning', () => {
  it('refuses the special blocks the audit got through the engine', () => {
    expect(engineRefusal({ name: 'x', ipv4: '127.0.0.1/8' })).toMatch(/loopback block 127\.0\.0\.0\/8/);
    expect(engineRefusal({ name: 'x', ipv4: '224.0.0.1/4' })).toMatch(/multicast block 224\.0\.0\.0\/4/);
    expect(engineRefusal({ name: 'x', ipv4: '0.0.0.1/8' })).toMatch(/"this network" block 0\.0\.0\.0\/8/);
    expect(engineRefusal({ name: 'x', ipv4: '169.254.0.1/16' })).toMatch(/link-local block 169\.254\.0\.0\/16/);
    expect(engineRefusal({ name: 'x', ipv4: '240.0.0.1/24' })).toMatch(/reserved block/);
    // A subnet that merely overlaps a special block is refused too.
    expect(engineRefusal({ name: 'x', ipv4: '169.1.0.1/8' })).toMatch(/169\.1\.0\.1\/8 lies in the link-local block/);
    expect(engineRefusal({ name: 'x', ipv4: '172.16.0.1/7' })).toMatch(/\/7 prefix/);
  });

  it('refuses a /31 (whose DHCP range was only the broadcast address), a /32 and too short prefixes', () => {
    expect(engineRefusal({ name: 'x', ipv4: '10.0.0.0/31' })).toMatch(/\/31 prefix, which leaves no address for guests/);
    expect(engineRefusal({ name: 'x', ipv4: '10.0.0.0/31', dhcp: { start: '10.0.0.1', end: '10.0.0.1' } })).toMatch(/\/31 prefix/);
    expect(engineRefusal({ name: 'x', ipv4: '10.0.0.1/32' })).toMatch(/\/32 prefix/);
    expect(engineRefusal({ name: 'x', ipv4: '10.0.0.1/7' })).toMatch(/\/7 prefix: its subnet would span 33554432 addresses/);
    expect(() => assertNetworkAddress(parseCidr('10.0.0.1/8'), 'address')).not.toThrow();
    expect(() => assertNetworkAddress(parseCidr('192.168.1.1/30'), 'address')).not.toThrow();
  });

  it('refuses a DHCP range that is only the network or the broadcast address', () => {
    expect(engineRefusal({ name: 'x', ipv4: '10.0.0.1/30', dhcp: { start: '10.0.0.3', end: '10.0.0.3' } })).toMatch(/broadcast address/);
    expect(engineRefusal({ name: 'x', ipv4: '10.0.0.1/30', dhcp: { start: '10.0.0.0', end: '10.0.0.0' } })).toMatch(/network address/);
  });

  it('refuses the loopback interface (and the bridge itself) as uplink', () => {
    expect(engineRefusal({ name: 'x', uplink: 'lo' })).toMatch(/uplink "lo" is the loopback interface/);
    expect(engineRefusal({ name: 'x', bridge: 'vdbr7', uplink: 'vdbr7' })).toMatch(/network's own bridge/);
    expect(buildNetworkDefinition({ name: 'x', uplink: 'eth0' }, none, ID).uplink).toBe('eth0');
  });

  it('the helper refuses by itself what the audit got through it', () => {
    expect(helperRefusal('127.0.0.1/8')).toMatch(/loopback/);
    expect(helperRefusal('10.0.0.1/0')).toMatch(/\/0 prefix/);
    expect(helperRefusal('10.0.0.1/1')).toMatch(/\/1 prefix/);
    expect(helperRefusal('192.168.100.1/32')).toMatch(/\/32 prefix/);
    expect(helperRefusal('169.254.3.1/24')).toMatch(/link-local/);
    const net = buildNetworkDefinition({ name: 'lab', ipv4: '10.251.0.1/24' }, none, ID);
    expect(() => parsePrivilegedOperation({ op: 'nft.apply', network: { ...net, uplink: 'lo' } })).toThrow(/uplink: the uplink "lo"/);
    expect(() => parsePrivilegedOperation({ op: 'dnsmasq.start', network: { ...net, ipv4: '224.0.0.1/24', dhcp: undefined } })).toThrow(/multicast/);
  });
});

describe('the overlap check reads every routing table', () => {
  // Recorded from `ip -j -4 route show table all` in a namespace with a policy-routing table 100.
  const ALL_TABLES = JSON.stringify([
    { dst: 'default', gateway: '10.250.0.1', dev: 'up0', flags: [] },
    { dst: '10.250.0.0/24', dev: 'up0', protocol: 'kernel', scope: 'link', prefsrc: '10.250.0.2', flags: [] },
    { dst: '10.77.0.0/16', gateway: '10.250.0.1', dev: 'up0', table: '100', flags: [] },
    { type: 'blackhole', dst: '10.99.0.0/16', table: '200', flags: [] },
    { type: 'local', dst: '10.250.0.2', dev: 'up0', table: 'local', protocol: 'kernel', scope: 'host', prefsrc: '10.250.0.2', flags: [] },
  ]);

  it('asks ip for all tables', async () => {
    const calls: string[][] = [];
    const runner: CommandRunner = {
      run: (command, args) => {
        calls.push([command, ...args]);
        return Promise.resolve({ code: 0, stdout: ALL_TABLES, stderr: '' });
      },
      wrap: (command, args) => ({ command, args: [...args] }),
    };
    const routes = await readHostRoutes(runner);
    expect(calls).toEqual([['ip', '-j', '-4', 'route', 'show', 'table', 'all']]);
    expect(routes.map((r) => r.destination)).toEqual(['10.250.0.0/24', '10.77.0.0/16', '10.99.0.0/16', '10.250.0.2']);
  });

  it('refuses subnets that overlap routes outside the main table, naming the table', () => {
    const routes = parseIpRouteJson(ALL_TABLES);
    expect(() => assertSubnetFree(parseCidr('10.77.5.1/24'), routes)).toThrow(/overlaps the host's route to 10\.77\.0\.0\/16 \(on up0, table 100\)/);
    expect(() => assertSubnetFree(parseCidr('10.99.0.1/24'), routes)).toThrow(/10\.99\.0\.0\/16 \(table 200\)/);
    expect(() => assertSubnetFree(parseCidr('10.78.0.1/24'), routes)).not.toThrow();
  });
});
