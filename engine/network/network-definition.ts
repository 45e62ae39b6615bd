import { randomUUID } from 'node:crypto';
import * as z from 'zod';
import { parseOrThrow } from '../model/parse';
import { EngineError } from '../api/errors';
import { validateDhcpRange, defaultDhcpRange } from './dhcp-range';
import { interfaceNameProblem } from '../model/net/interface-names';
import { assertNetworkAddress, formatIpv4, parseCidr, type Ipv4Cidr } from '../model/net/ipv4';
import { networkNameProblem } from '../model/net/network-names';

export const NETWORK_SCHEMA_VERSION = 1;

/**
 * How a virtual network reaches the outside, as in libvirt:
 * - nat: guests reach everything the host reaches, masqueraded behind the host's address;
 * - routed: guests' addresses are forwarded as they are (the LAN needs a route back);
 * - isolated: guests reach each other and the host, nothing else.
 */
export const NETWORK_MODES = ['nat', 'routed', 'isolated'] as const;
export type NetworkMode = (typeof NETWORK_MODES)[number];

const name = z.string().superRefine((value, ctx) => {
  const problem = networkNameProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: `network name ${problem}` });
});
const interfaceName = z.string().superRefine((value, ctx) => {
  const problem = interfaceNameProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: `interface name "${value}" ${problem}` });
});
const cidr = z.string().superRefine((value, ctx) => {
  try {
    assertNetworkAddress(parseCidr(value, 'address'), 'address');
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: error instanceof Error ? error.message : String(error) });
  }
});
const ipv4 = z.string().regex(/^[0-9.]+$/, 'not an IPv4 address');

export const networkDefinitionSchema = z
  .object({
    schemaVersion: z.literal(NETWORK_SCHEMA_VERSION),
    /** Lowercase UUID: the document's folder in the store. */
    id: z.string(),
    name,
    mode: z.enum(NETWORK_MODES),
    /** The Linux bridge the network creates. */
    bridge: interfaceName,
    /** The bridge's own address and the subnet, e.g. `192.168.100.1/24`. Guests use it as gateway and DNS. */
    ipv4: cidr,
    /** DHCP pool; absent means no DHCP (guests configure themselves). */
    dhcp: z.object({ start: ipv4, end: ipv4 }).optional(),
    /** dnsmasq answers DNS on the bridge address (forwarding to the host's resolvers unless isolated). */
    dns: z.boolean(),
    /** Host interface NAT/routed traffic must leave through; absent means any. */
    uplink: interfaceName.optional(),
    autostart: z.boolean(),
  })
  .superRefine((def, ctx) => {
    if (def.mode === 'isolated' && def.uplink !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['uplink'], message: 'an isolated network has no uplink' });
    }
    if (def.uplink !== undefined) {
      const problem = uplinkProblem(def.uplink, def.bridge);
      if (problem) ctx.addIssue({ code: 'custom', path: ['uplink'], message: problem });
    }
    if (def.dhcp) {
      try {
        validateDhcpRange(parseCidr(def.ipv4), def.dhcp.start, def.dhcp.end);
      } catch (error) {
        ctx.addIssue({ code: 'custom', path: ['dhcp'], message: error instanceof Error ? error.message : String(error) });
      }
    }
  });

/** Why an interface cannot be a network's uplink: loopback never reaches another host, and the bridge cannot be its own way out. */
export function uplinkProblem(uplink: string, bridge: string | undefined): string | undefined {
  if (uplink === 'lo') return 'the uplink "lo" is the loopback interface, which reaches no other host';
  if (uplink === bridge) return `the uplink "${uplink}" is the network's own bridge`;
  return undefined;
}

function assertUsableUplink(uplink: string, bridge: string | undefined): void {
  const problem = uplinkProblem(uplink, bridge);
  if (problem) {
    throw new EngineError('invalid-argument', `The ${problem}`, {
      hint: 'Name the host interface that reaches the outside (e.g. eth0, see `ip route show default`), or leave the uplink out to use any.',
    });
  }
}

export type NetworkDefinition = z.output<typeof networkDefinitionSchema>;

/** What a person gives to create a network; the rest is filled in by `buildNetworkDefinition`. */
export interface NetworkCreateInput {
  name: string;
  mode?: NetworkMode;
  bridge?: string;
  /** Gateway CIDR, e.g. 192.168.100.1/24. */
  ipv4?: string;
  /** `START-END`, `none` for no DHCP; default: the whole subnet minus the gateway. */
  dhcp?: { start: string; end: string } | 'none';
  dns?: boolean;
  uplink?: string;
  autostart?: boolean;
}

export function parseNetworkDefinition(value: unknown): NetworkDefinition {
  return parseOrThrow(networkDefinitionSchema, value, 'network definition');
}

export function gatewayOf(def: Pick<NetworkDefinition, 'ipv4'>): Ipv4Cidr {
  return parseCidr(def.ipv4);
}

/**
 * Fills the defaults of a create request, given the names and subnets already taken, and
 * validates the result. Host-route overlap is checked separately (it needs the host).
 */
export function buildNetworkDefinition(
  input: NetworkCreateInput,
  taken: { bridges: readonly string[]; subnets: readonly string[] },
  id: string = randomUUID(),
): NetworkDefinition {
  const ipv4 = input.ipv4 ?? firstFreeSubnet(taken.subnets);
  const gateway = parseCidr(ipv4, 'network address');
  assertNetworkAddress(gateway, 'network address');
  if (input.uplink !== undefined) assertUsableUplink(input.uplink, input.bridge);
  let dhcp: NetworkDefinition['dhcp'];
  if (input.dhcp === 'none') dhcp = undefined;
  else if (input.dhcp) dhcp = input.dhcp;
  else {
    const range = defaultDhcpRange(gateway);
    dhcp = range ? { start: formatIpv4(range.start), end: formatIpv4(range.end) } : undefined;
  }
  const def: NetworkDefinition = {
    schemaVersion: NETWORK_SCHEMA_VERSION,
    id,
    name: input.name,
    mode: input.mode ?? 'nat',
    bridge: input.bridge ?? firstFreeBridge(taken.bridges),
    ipv4: `${formatIpv4(gateway.address)}/${gateway.prefix}`,
    dns: input.dns ?? true,
    autostart: input.autostart ?? false,
  };
  if (dhcp) def.dhcp = dhcp;
  if (input.uplink !== undefined) def.uplink = input.uplink;
  return parseNetworkDefinition(def);
}

/** `vdbr0`, `vdbr1`, …: our own prefix, so our bridges are recognisable and never collide with libvirt's virbrN. */
export function firstFreeBridge(taken: readonly string[]): string {
  for (let i = 0; ; i++) {
    const candidate = `vdbr${i}`;
    if (!taken.includes(candidate)) return candidate;
  }
}

/** 192.168.100.1/24, then 192.168.101.1/24, …, skipping subnets other definitions use. */
export function firstFreeSubnet(taken: readonly string[]): string {
  const used = taken.map((t) => parseCidr(t));
  for (let third = 100; third < 256; third++) {
    const candidate = parseCidr(`192.168.${third}.1/24`);
    if (!used.some((u) => u.network <= candidate.broadcast && candidate.network <= u.broadcast)) return `192.168.${third}.1/24`;
  }
  throw new EngineError('resource-exhausted', 'No free 192.168.x.0/24 subnet is left for a new network', { hint: 'Give the network an address with --ipv4.' });
}
