import { EngineError } from '../errors';

/** An IPv4 subnet: the address as written, its prefix length, and the derived bounds as 32-bit numbers. */
export interface Ipv4Cidr {
  /** The address as written (for a network definition this is the host/gateway address). */
  address: number;
  prefix: number;
  /** First address of the subnet (address with host bits cleared). */
  network: number;
  /** Last address of the subnet. */
  broadcast: number;
}

const OCTET = /^(0|[1-9][0-9]{0,2})$/;

/** Parses dotted-quad IPv4 into an unsigned 32-bit number, or undefined. Leading zeros are refused (they mean octal to some tools). */
export function tryParseIpv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!OCTET.test(part)) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    value = value * 256 + octet;
  }
  return value;
}

export function parseIpv4(text: string, what = 'IPv4 address'): number {
  const value = tryParseIpv4(text);
  if (value === undefined) {
    throw new EngineError('invalid-argument', `${what} "${text}" is not an IPv4 address`, {
      hint: 'Write it as four numbers 0-255 separated by dots, e.g. 192.168.100.1.',
    });
  }
  return value;
}

export function formatIpv4(value: number): string {
  return [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join('.');
}

export function netmaskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

export function formatNetmask(prefix: number): string {
  return formatIpv4(netmaskOf(prefix));
}

export function cidrOf(address: number, prefix: number): Ipv4Cidr {
  const mask = netmaskOf(prefix);
  const network = (address & mask) >>> 0;
  const broadcast = (network | (~mask >>> 0)) >>> 0;
  return { address, prefix, network, broadcast };
}

/** Parses `A.B.C.D/N`. A bare address is taken as /32 only when `allowBareAddress` is set. */
export function parseCidr(text: string, what = 'subnet', options: { allowBareAddress?: boolean } = {}): Ipv4Cidr {
  const slash = text.indexOf('/');
  const addressText = slash < 0 ? text : text.slice(0, slash);
  const prefixText = slash < 0 ? undefined : text.slice(slash + 1);
  const address = tryParseIpv4(addressText);
  if (address === undefined || (prefixText === undefined && !options.allowBareAddress)) {
    throw new EngineError('invalid-argument', `${what} "${text}" is not an IPv4 CIDR`, {
      hint: 'Write it as ADDRESS/PREFIX, e.g. 192.168.100.1/24.',
    });
  }
  let prefix = 32;
  if (prefixText !== undefined) {
    if (!/^(0|[1-9][0-9]?)$/.test(prefixText) || Number(prefixText) > 32) {
      throw new EngineError('invalid-argument', `${what} "${text}" has an invalid prefix length "${prefixText}"`, {
        hint: 'The prefix length is a number from 0 to 32, e.g. /24.',
      });
    }
    prefix = Number(prefixText);
  }
  return cidrOf(address, prefix);
}

export function formatCidr(cidr: Pick<Ipv4Cidr, 'address' | 'prefix'>): string {
  return `${formatIpv4(cidr.address)}/${cidr.prefix}`;
}

/** The subnet itself, e.g. 192.168.100.0/24 for 192.168.100.1/24. */
export function formatSubnet(cidr: Ipv4Cidr): string {
  return `${formatIpv4(cidr.network)}/${cidr.prefix}`;
}

export function cidrContains(cidr: Ipv4Cidr, address: number): boolean {
  return address >= cidr.network && address <= cidr.broadcast;
}

export function cidrsOverlap(a: Ipv4Cidr, b: Ipv4Cidr): boolean {
  return a.network <= b.broadcast && b.network <= a.broadcast;
}

/** Usable host addresses of a subnet (excludes network and broadcast for prefixes up to /30). */
export function hostBounds(cidr: Ipv4Cidr): { first: number; last: number } {
  if (cidr.prefix >= 31) return { first: cidr.network, last: cidr.broadcast };
  return { first: cidr.network + 1, last: cidr.broadcast - 1 };
}

/**
 * Checks an address that will be a host's own address on a subnet (a bridge's gateway):
 * not the network or broadcast address.
 */
export function assertUsableHostAddress(cidr: Ipv4Cidr, what: string): void {
  const { first, last } = hostBounds(cidr);
  if (cidr.address < first || cidr.address > last) {
    throw new EngineError('invalid-argument', `${what} ${formatCidr(cidr)} is the ${cidr.address === cidr.network ? 'network' : 'broadcast'} address of its subnet`, {
      hint: `Use a host address such as ${formatIpv4(first)}/${cidr.prefix}.`,
    });
  }
}

/** Shortest and longest prefix a virtual network may have: /31 and /32 leave no address for a guest. */
export const MIN_NETWORK_PREFIX = 8;
export const MAX_NETWORK_PREFIX = 30;

/** Address blocks a virtual network may never use (RFC 6890): they are not routed like ordinary unicast. */
const SPECIAL_BLOCKS: readonly { cidr: Ipv4Cidr; what: string }[] = [
  { cidr: cidrOf(0x00000000, 8), what: '"this network" block 0.0.0.0/8' },
  { cidr: cidrOf(0x7f000000, 8), what: 'loopback block 127.0.0.0/8' },
  { cidr: cidrOf(0xa9fe0000, 16), what: 'link-local block 169.254.0.0/16' },
  { cidr: cidrOf(0xe0000000, 4), what: 'multicast block 224.0.0.0/4' },
  { cidr: cidrOf(0xf0000000, 4), what: 'reserved block 240.0.0.0/4 (with the broadcast address 255.255.255.255)' },
];

/**
 * Checks the meaning of a virtual network's address (its gateway and subnet), not only its
 * syntax: a host address of an ordinary unicast subnet with room for guests. The engine and
 * the root helper both call this; the helper never relies on the engine having done it.
 */
export function assertNetworkAddress(cidr: Ipv4Cidr, what: string): void {
  const text = formatCidr(cidr);
  // The address's own block first (224.0.0.1/4 is a multicast address before it is a short prefix).
  refuseSpecial(SPECIAL_BLOCKS.find((block) => cidrContains(block.cidr, cidr.address)), what, text);
  if (cidr.prefix > MAX_NETWORK_PREFIX) {
    throw new EngineError('invalid-argument', `${what} ${text} has a /${cidr.prefix} prefix, which leaves no address for guests beside the gateway`, {
      hint: `Use a prefix from /${MIN_NETWORK_PREFIX} to /${MAX_NETWORK_PREFIX}, usually /24 (e.g. 192.168.100.1/24).`,
    });
  }
  if (cidr.prefix < MIN_NETWORK_PREFIX) {
    throw new EngineError('invalid-argument', `${what} ${text} has a /${cidr.prefix} prefix: its subnet would span ${2 ** (32 - cidr.prefix)} addresses and swallow other networks' routes`, {
      hint: `Use a prefix from /${MIN_NETWORK_PREFIX} to /${MAX_NETWORK_PREFIX}, usually /24 (e.g. 192.168.100.1/24).`,
    });
  }
  refuseSpecial(SPECIAL_BLOCKS.find((block) => cidrsOverlap(cidr, block.cidr)), what, text);
  assertUsableHostAddress(cidr, what);
}

function refuseSpecial(special: (typeof SPECIAL_BLOCKS)[number] | undefined, what: string, text: string): void {
  if (!special) return;
  throw new EngineError('invalid-argument', `${what} ${text} lies in the ${special.what}, which a virtual network cannot use`, {
    hint: 'Use a private subnet: 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16 (e.g. 192.168.100.1/24).',
  });
}
