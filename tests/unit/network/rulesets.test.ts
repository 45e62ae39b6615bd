import { describe, expect, it } from 'vitest';
import { buildNetworkDefinition } from '../../../engine/network/network-definition';
import { buildDnsmasqConfig } from '../../../engine/network/privileged/dnsmasq-config';
import { buildNftRemoval, buildNftRuleset } from '../../../engine/network/privileged/nft-ruleset';

const ID = '00000000-0000-4000-8000-000000000001';
const taken = { bridges: [], subnets: [] };
const paths = { pidFile: '/run/vd/lab/dnsmasq.pid', leaseFile: '/run/vd/lab/dnsmasq.leases', logFile: '/run/vd/lab/dnsmasq.log' };

describe('nftables rulesets', () => {
  it('NAT: masquerades the subnet, forwards out and established back, stays in its own table', () => {
    const text = buildNftRuleset(buildNetworkDefinition({ name: 'lab', ipv4: '10.251.0.1/24', bridge: 'vdbr3' }, taken, ID), 1000);
    expect(text).toBe(`# Virtdesk network "lab" (nat)
add table ip virtdesk-lab
delete table ip virtdesk-lab
table ip virtdesk-lab {
  comment "virtdesk owner=1000"
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    ip saddr 10.251.0.0/24 ip daddr 224.0.0.0/24 return
    ip saddr 10.251.0.0/24 ip daddr 255.255.255.255 return
    ip saddr 10.251.0.0/24 ip daddr != 10.251.0.0/24 meta l4proto { tcp, udp } masquerade to :1024-65535
    ip saddr 10.251.0.0/24 ip daddr != 10.251.0.0/24 masquerade
  }
  chain forward {
    type filter hook forward priority filter; policy accept;
    iifname "vdbr3" oifname "vdbr3" accept
    iifname "vdbr3" ip saddr 10.251.0.0/24 accept
    oifname "vdbr3" ip daddr 10.251.0.0/24 ct state established,related accept
    iifname "vdbr3" reject with icmp type port-unreachable
    oifname "vdbr3" reject with icmp type port-unreachable
  }
}
`);
  });

  it('NAT with an uplink restricts both directions to it', () => {
    const text = buildNftRuleset(buildNetworkDefinition({ name: 'lab', ipv4: '10.251.0.1/24', bridge: 'vdbr3', uplink: 'eth0' }, taken, ID), 1000);
    expect(text).toContain('ip daddr != 10.251.0.0/24 oifname "eth0" masquerade\n');
    expect(text).toContain('oifname "vdbr3" ip daddr 10.251.0.0/24 iifname "eth0" ct state established,related accept');
  });

  it('routed: no NAT, forwarding both ways', () => {
    const text = buildNftRuleset(buildNetworkDefinition({ name: 'r', mode: 'routed', ipv4: '10.252.0.1/24', bridge: 'vdbr1' }, taken, ID), 1000);
    expect(text).not.toContain('masquerade');
    expect(text).toContain('oifname "vdbr1" ip daddr 10.252.0.0/24 accept');
  });

  it('isolated: bridge-local traffic only', () => {
    const text = buildNftRuleset(buildNetworkDefinition({ name: 'iso', mode: 'isolated', ipv4: '10.253.0.1/24', bridge: 'vdbr2' }, taken, ID), 1000);
    expect(text).not.toContain('masquerade');
    expect(text.match(/ accept$/gm)).toHaveLength(1);
    expect(text).toContain('iifname "vdbr2" reject');
  });

  it('removal touches only its own table', () => {
    expect(buildNftRemoval('lab')).toBe('add table ip virtdesk-lab\ndelete table ip virtdesk-lab\n');
  });
});

describe('dnsmasq configuration', () => {
  it('binds only the bridge and keeps its own files', () => {
    const text = buildDnsmasqConfig(buildNetworkDefinition({ name: 'lab', ipv4: '10.251.0.1/24', bridge: 'vdbr3' }, taken, ID), paths);
    expect(text.split('\n')).toEqual(
      expect.arrayContaining([
        'pid-file=/run/vd/lab/dnsmasq.pid',
        'except-interface=lo',
        'bind-dynamic',
        'interface=vdbr3',
        'listen-address=10.251.0.1',
        'dhcp-range=10.251.0.2,10.251.0.254,255.255.255.0,1h',
        'dhcp-leasefile=/run/vd/lab/dnsmasq.leases',
        'dhcp-lease-max=253',
        'no-ping',
        'log-facility=/run/vd/lab/dnsmasq.log',
      ]),
    );
    expect(text).not.toContain('no-resolv');
    expect(text).not.toContain('option:router');
  });

  it('isolated: no upstream DNS and no router offered', () => {
    const text = buildDnsmasqConfig(buildNetworkDefinition({ name: 'iso', mode: 'isolated', ipv4: '10.253.0.1/24' }, taken, ID), paths);
    expect(text).toContain('no-resolv');
    expect(text).toContain('dhcp-option=option:router\n');
  });

  it('without DNS, the DNS port is off; without DHCP, no range', () => {
    const text = buildDnsmasqConfig(buildNetworkDefinition({ name: 'x', ipv4: '10.254.0.1/24', dns: false, dhcp: 'none' }, taken, ID), paths);
    expect(text).toContain('port=0');
    expect(text).not.toContain('dhcp-range');
  });
});
