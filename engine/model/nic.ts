import * as z from 'zod';
import { interfaceNameProblem } from './net/interface-names';
import { networkNameProblem } from './net/network-names';
import { ipv4CidrSchema, ipv4Schema, portSchema } from './common';
import { VM_DEFAULTS } from './defaults';
import { macSchema } from './mac';
import { deviceIdSchema } from './names';

export const NIC_MODELS = ['virtio', 'e1000e', 'rtl8139'] as const;
export type NicModel = (typeof NIC_MODELS)[number];

export const PORT_PROTOCOLS = ['tcp', 'udp'] as const;
export type PortProtocol = (typeof PORT_PROTOCOLS)[number];

/**
 * The two ends of a private link. Each end is one VM's NIC; QEMU 7.2 joins them with
 * `-netdev dgram` over two unix datagram sockets in the user's 0700 runtime folder (each end
 * binds its own socket and sends to the other's), so no privileges are needed, either end can
 * start or restart in any order, and no other user can join or listen.
 */
export const LINK_ROLES = ['a', 'b'] as const;
export type LinkRole = (typeof LINK_ROLES)[number];

const namedBy = (problemOf: (name: string) => string | undefined, what: string) =>
  z.string().superRefine((value, ctx) => {
    const problem = problemOf(value);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: `${what} "${value}" ${problem}` });
  });

export const portForwardSchema = z.object({
  protocol: z.enum(PORT_PROTOCOLS).default(VM_DEFAULTS.portForwardProtocol),
  /** Host address QEMU listens on; 0.0.0.0 exposes the port on every interface. */
  hostAddress: ipv4Schema.default(VM_DEFAULTS.portForwardHostAddress),
  hostPort: portSchema,
  guestPort: portSchema,
});
export type PortForward = z.output<typeof portForwardSchema>;

/** QEMU's user-mode NAT (slirp): no privileges; unset fields keep slirp's 10.0.2.0/24 plan. */
export const userNetworkSchema = z.object({
  kind: z.literal('user'),
  /** Guest subnet, e.g. 10.0.3.0/24 (slirp default 10.0.2.0/24). */
  subnet: ipv4CidrSchema.optional(),
  /** The gateway/host address the guest sees (slirp default: .2 of the subnet). */
  hostAddress: ipv4Schema.optional(),
  /** The DNS forwarder address the guest sees (slirp default: .3 of the subnet). */
  dns: ipv4Schema.optional(),
  /** First address slirp's DHCP hands out (slirp default: .15 of the subnet). */
  dhcpStart: ipv4Schema.optional(),
  portForwards: z.array(portForwardSchema).default([]),
});

/** A virtual network managed by engine/network (a bridge with DHCP/NAT). */
export const virtualNetworkSchema = z.object({
  kind: z.literal('network'),
  name: namedBy(networkNameProblem, 'network name'),
});

/** An existing host bridge, joined through qemu-bridge-helper. */
export const bridgeNetworkSchema = z.object({
  kind: z.literal('bridge'),
  name: namedBy(interfaceNameProblem, 'bridge name'),
});

/** One end of a named point-to-point link between two VMs (see LINK_ROLES). */
export const linkNetworkSchema = z.object({
  kind: z.literal('link'),
  name: namedBy(networkNameProblem, 'link name'),
  role: z.enum(LINK_ROLES),
});

export const nicNetworkSchema = z.discriminatedUnion('kind', [userNetworkSchema, virtualNetworkSchema, bridgeNetworkSchema, linkNetworkSchema]);
export type NicNetwork = z.output<typeof nicNetworkSchema>;
export type NicNetworkKind = NicNetwork['kind'];
export type UserNetwork = z.output<typeof userNetworkSchema>;
export type LinkNetwork = z.output<typeof linkNetworkSchema>;

const DEFAULT_NETWORK = { kind: 'user' } as const;

export const nicSchema = z.object({
  id: deviceIdSchema,
  mac: macSchema,
  model: z.enum(NIC_MODELS).default(VM_DEFAULTS.nicModel),
  network: nicNetworkSchema.prefault(DEFAULT_NETWORK),
});
export type Nic = z.output<typeof nicSchema>;

/** What a caller gives: id and MAC are generated, a link's role is the free end. */
export const nicInputSchema = nicSchema.extend({
  id: deviceIdSchema.optional(),
  mac: macSchema.optional(),
  network: z
    .discriminatedUnion('kind', [userNetworkSchema, virtualNetworkSchema, bridgeNetworkSchema, linkNetworkSchema.extend({ role: z.enum(LINK_ROLES).optional() })])
    .prefault(DEFAULT_NETWORK),
});
export type NicInput = z.input<typeof nicInputSchema>;
