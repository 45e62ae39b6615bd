import { formatIpv4, formatNetmask, hostBounds, parseCidr } from '../../model/net/ipv4';
import type { NetworkDefinition } from '../network-definition';

export interface DnsmasqPaths {
  pidFile: string;
  leaseFile: string;
  logFile: string;
}

type ConfigInput = Pick<NetworkDefinition, 'name' | 'mode' | 'bridge' | 'ipv4' | 'dhcp' | 'dns'>;

export const DHCP_LEASE_TIME = '1h';

/**
 * dnsmasq configuration for one network, read with `--conf-file=` only (never the host's
 * /etc/dnsmasq.conf). It binds the bridge alone (bind-dynamic, so it never grabs another
 * interface's port 53), keeps its own pid and lease files, and drops root after start.
 */
export function buildDnsmasqConfig(net: ConfigInput, paths: DnsmasqPaths): string {
  const gateway = parseCidr(net.ipv4);
  const lines = [
    `# Virtdesk network "${net.name}": generated, do not edit`,
    'strict-order',
    `log-facility=${paths.logFile}`,
    `pid-file=${paths.pidFile}`,
    'except-interface=lo',
    'bind-dynamic',
    `interface=${net.bridge}`,
    `listen-address=${formatIpv4(gateway.address)}`,
  ];
  if (net.dns) {
    if (net.mode === 'isolated') lines.push('no-resolv');
    lines.push('domain-needed', 'bogus-priv');
  } else {
    lines.push('port=0');
  }
  if (net.dhcp) {
    const { first, last } = hostBounds(gateway);
    const poolSize = Math.max(1, last - first);
    lines.push(
      `dhcp-range=${net.dhcp.start},${net.dhcp.end},${formatNetmask(gateway.prefix)},${DHCP_LEASE_TIME}`,
      'dhcp-no-override',
      'dhcp-authoritative',
      `dhcp-lease-max=${poolSize}`,
      `dhcp-leasefile=${paths.leaseFile}`,
      // dnsmasq otherwise pings an address for up to 3 s before offering it; every address here
      // is handed out by this dnsmasq, and guests with short DHCP timeouts give up meanwhile.
      'no-ping',
    );
    // An isolated network offers no router, so guests do not send the world's traffic into it.
    if (net.mode === 'isolated') lines.push('dhcp-option=option:router');
    if (!net.dns) lines.push('dhcp-option=option:dns-server');
  }
  return `${lines.join('\n')}\n`;
}
