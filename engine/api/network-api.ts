import * as z from 'zod';
import { PORT_PROTOCOLS, portForwardSchema } from '../model/nic';
import { method } from './contract';

/**
 * The networks service of the contract: virtual networks (NAT, routed, isolated: a bridge, dnsmasq
 * and an nftables table each), their DHCP leases, the host's own bridges, and the port forwards of
 * VMs on user-mode NAT. Starting, stopping and deleting a network are privileged: as root the engine
 * does them itself, otherwise it asks through pkexec, and its errors say so.
 */

export const NETWORK_MODES = ['nat', 'routed', 'isolated'] as const;
export const networkModeSchema = z.enum(NETWORK_MODES);
export type NetworkModeName = z.infer<typeof networkModeSchema>;

const ref = z.string().min(1).max(64);
const ipv4 = z.string().regex(/^\d{1,3}(\.\d{1,3}){3}$/, 'must be an IPv4 address such as 192.168.100.10');
const cidr = z.string().regex(/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/, 'must be an address with prefix such as 192.168.100.1/24');
const vmId = z.string().min(1).max(64);

export const networkSchema = z.object({
  id: z.string(),
  name: z.string(),
  mode: networkModeSchema,
  bridge: z.string(),
  /** The bridge's address and the subnet, e.g. 192.168.100.1/24. */
  ipv4: z.string(),
  dhcp: z.object({ start: z.string(), end: z.string() }).optional(),
  dns: z.boolean(),
  uplink: z.string().optional(),
  autostart: z.boolean(),
  /** Read from the host every time: active, inactive, or degraded (see problems). */
  state: z.enum(['active', 'inactive', 'degraded']),
  problems: z.array(z.string()),
  dnsmasqPid: z.number().nullable(),
  /** Taps of running VMs' NICs on the bridge. */
  attachedTaps: z.array(z.string()),
});
export type NetworkInfo = z.infer<typeof networkSchema>;

export const leaseSchema = z.object({
  mac: z.string(),
  ip: z.string(),
  hostname: z.string().nullable(),
  /** ISO time; null for an infinite lease. */
  expiresAt: z.string().nullable(),
});
export type LeaseInfo = z.infer<typeof leaseSchema>;

export const hostBridgeSchema = z.object({
  name: z.string(),
  ports: z.array(z.string()),
  addresses: z.array(z.string()),
  /** Made by `virtdesk net host-bridge create` from this interface; null for a bridge made otherwise. */
  createdFrom: z.string().nullable(),
});
export type HostBridgeEntry = z.infer<typeof hostBridgeSchema>;

/** Whether this host can change networks itself, and what happens when it cannot. */
export const privilegesSchema = z.object({
  root: z.boolean(),
  /** For a person: how privileged steps are done here (null as root). */
  note: z.string().nullable(),
});

export const portForwardInfoSchema = portForwardSchema.extend({ protocol: z.enum(PORT_PROTOCOLS), hostAddress: z.string() });
export type PortForwardInfo = z.infer<typeof portForwardInfoSchema>;

export const vmPortForwardsSchema = z.object({
  vmId: z.string(),
  running: z.boolean(),
  /** The VM's user-mode (NAT) NICs, the only ones that can have forwards. */
  userNics: z.array(z.string()),
  /** What the definition holds (applied at every start), and whether QEMU has it now (null while stopped). */
  forwards: z.array(z.object({ nicId: z.string(), forward: portForwardInfoSchema, active: z.boolean().nullable() })),
});
export type VmPortForwards = z.infer<typeof vmPortForwardsSchema>;

export const networkMethods = {
  list: method(z.object({}), z.object({ networks: z.array(networkSchema), problems: z.array(z.string()), privileges: privilegesSchema })),
  get: method(z.object({ ref }), networkSchema),
  /** Unset fields get the engine's defaults: NAT, the first free 192.168.x.1/24, DHCP over the rest of the subnet, DNS on. */
  create: method(
    z.object({
      name: z.string().min(1).max(64),
      mode: networkModeSchema.optional(),
      ipv4: cidr.optional(),
      /** `none` turns DHCP off (guests configure themselves). */
      dhcp: z.union([z.object({ start: ipv4, end: ipv4 }), z.literal('none')]).optional(),
      dns: z.boolean().optional(),
      uplink: z.string().min(1).max(15).optional(),
      bridge: z.string().min(1).max(15).optional(),
      autostart: z.boolean().optional(),
    }),
    networkSchema,
  ),
  start: method(z.object({ ref }), networkSchema),
  /** Refuses while running VMs are attached, unless `force` (they lose the network until restarted). */
  stop: method(z.object({ ref, force: z.boolean().default(false) }), networkSchema),
  /** Stops the network, removes everything it left on the host, and forgets it. */
  delete: method(z.object({ ref, force: z.boolean().default(false) }), z.null()),
  setAutostart: method(z.object({ ref, autostart: z.boolean() }), networkSchema),
  leases: method(z.object({ ref }), z.array(leaseSchema)),
  /** Linux bridges on the host that VMs can join (not Virtdesk's own network bridges). */
  hostBridges: method(z.object({}), z.array(hostBridgeSchema)),

  portForwards: method(z.object({ vmId }), vmPortForwardsSchema),
  /**
   * Saves the forward in the definition and, while the VM runs, adds it to QEMU at once. Refused when
   * it clashes with another forward of any VM or the host port is taken. `nicId` may be left out
   * when the VM has one user-mode NIC.
   */
  addPortForward: method(z.object({ vmId, nicId: z.string().min(1).max(64).optional(), forward: portForwardSchema }), vmPortForwardsSchema),
  /** The host address is matched only when given. */
  removePortForward: method(
    z.object({ vmId, nicId: z.string().min(1).max(64).optional(), protocol: z.enum(PORT_PROTOCOLS), hostAddress: ipv4.optional(), hostPort: z.number().int().min(1).max(65535) }),
    vmPortForwardsSchema,
  ),
};

export const networkEvents = {
  /** A network was created, started, stopped or deleted through this host. */
  'networks.changed': z.object({ ids: z.array(z.string()) }),
};
