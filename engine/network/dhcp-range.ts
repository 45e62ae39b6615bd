import { EngineError } from '../api/errors';
import { cidrContains, formatIpv4, formatSubnet, hostBounds, parseIpv4, type Ipv4Cidr } from '../model/net/ipv4';

export interface DhcpRange {
  start: number;
  end: number;
}

/**
 * Validates a DHCP range against the network's own address: both ends usable host
 * addresses inside the subnet, start <= end, and the gateway not inside the range.
 */
export function validateDhcpRange(gateway: Ipv4Cidr, startText: string, endText: string): DhcpRange {
  const start = parseIpv4(startText, 'DHCP range start');
  const end = parseIpv4(endText, 'DHCP range end');
  const subnet = formatSubnet(gateway);
  const { first, last } = hostBounds(gateway);
  for (const [label, value] of [['start', start], ['end', end]] as const) {
    if (!cidrContains(gateway, value)) {
      throw new EngineError('invalid-argument', `DHCP range ${label} ${formatIpv4(value)} is outside the network's subnet ${subnet}`, {
        hint: `Choose addresses between ${formatIpv4(first)} and ${formatIpv4(last)}.`,
      });
    }
    if (value < first || value > last) {
      throw new EngineError('invalid-argument', `DHCP range ${label} ${formatIpv4(value)} is the ${value === gateway.network ? 'network' : 'broadcast'} address of ${subnet}`, {
        hint: `Choose addresses between ${formatIpv4(first)} and ${formatIpv4(last)}.`,
      });
    }
  }
  if (start > end) {
    throw new EngineError('invalid-argument', `DHCP range start ${formatIpv4(start)} comes after its end ${formatIpv4(end)}`, {
      hint: 'Swap them.',
    });
  }
  if (gateway.address >= start && gateway.address <= end) {
    throw new EngineError('invalid-argument', `DHCP range ${formatIpv4(start)}-${formatIpv4(end)} contains the network's own address ${formatIpv4(gateway.address)}`, {
      hint: 'The bridge keeps that address; start the range after it (or end it before it).',
    });
  }
  return { start, end };
}

/** The range libvirt's default network uses, shaped to any subnet: from gateway+1 to the last host address, gateway excluded. */
export function defaultDhcpRange(gateway: Ipv4Cidr): DhcpRange | undefined {
  const { first, last } = hostBounds(gateway);
  // Prefer the part of the subnet above the gateway; fall back to below it.
  if (gateway.address + 1 <= last) return { start: gateway.address + 1, end: last };
  if (first <= gateway.address - 1) return { start: first, end: gateway.address - 1 };
  return undefined;
}
