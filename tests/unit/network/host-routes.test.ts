import { describe, expect, it } from 'vitest';
import { assertSubnetFree, parseIpRouteJson } from '../../../engine/network/host-routes';
import { parseCidr } from '../../../engine/model/net/ipv4';

// Recorded from `ip -j -4 route show` on the development machine, plus a VPN-style host route.
const ROUTES_JSON = JSON.stringify([
  { dst: 'default', gateway: '192.0.2.1', dev: 'eth0', flags: [] },
  { dst: '192.0.2.0/24', dev: 'eth0', protocol: 'kernel', scope: 'link', prefsrc: '192.0.2.2', flags: [] },
  { dst: '10.8.0.1', dev: 'tun0', scope: 'link', flags: [] },
  { dst: '192.168.122.0/24', dev: 'virbr-own', protocol: 'kernel', flags: [] },
]);

describe('host routes', () => {
  const routes = parseIpRouteJson(ROUTES_JSON);

  it('drops the default route', () => {
    expect(routes.map((r) => r.destination)).toEqual(['192.0.2.0/24', '10.8.0.1', '192.168.122.0/24']);
  });

  it('refuses a subnet overlapping the LAN, naming the route and device', () => {
    expect(() => assertSubnetFree(parseCidr('192.0.2.128/25'), routes)).toThrow(/overlaps the host's route to 192.0.2.0\/24 \(on eth0\)/);
    expect(() => assertSubnetFree(parseCidr('192.0.0.0/16'), routes)).toThrow(/192.0.2.0\/24/);
  });

  it('refuses a subnet containing a host route', () => {
    expect(() => assertSubnetFree(parseCidr('10.8.0.0/24'), routes)).toThrow(/10.8.0.1 \(on tun0\)/);
  });

  it('accepts a free subnet and ignores the network\'s own bridge', () => {
    expect(() => assertSubnetFree(parseCidr('192.168.100.1/24'), routes)).not.toThrow();
    expect(() => assertSubnetFree(parseCidr('192.168.122.1/24'), routes)).toThrow(/virbr-own/);
    expect(() => assertSubnetFree(parseCidr('192.168.122.1/24'), routes, 'virbr-own')).not.toThrow();
  });

  it('tolerates empty output', () => {
    expect(parseIpRouteJson('')).toEqual([]);
  });
});
