import * as z from 'zod';
import { parseOrThrow } from '../../model/parse';
import { interfaceNameProblem } from '../../model/net/interface-names';
import { assertNetworkAddress, parseCidr } from '../../model/net/ipv4';
import { networkDefinitionSchema } from '../network-definition';
import { networkNameProblem } from '../../model/net/network-names';

/**
 * The fixed list of things the privileged helper does. Every field is validated here, in the
 * helper's own process, before anything runs: the helper trusts nothing its caller sends.
 * Objects are strict, so an unknown field is an error rather than silently ignored.
 */

const interfaceName = z.string().superRefine((value, ctx) => {
  const problem = interfaceNameProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: `interface name "${value}" ${problem}` });
});
const networkName = z.string().superRefine((value, ctx) => {
  const problem = networkNameProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: `network name "${value}" ${problem}` });
});
const hostCidr = z.string().superRefine((value, ctx) => {
  try {
    assertNetworkAddress(parseCidr(value, 'address'), 'address');
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: error instanceof Error ? error.message : String(error) });
  }
});
/** The network fields the helper needs; autostart and schemaVersion stay with the engine. */
const networkSpec = networkDefinitionSchema;

export const privilegedOperationSchema = z.discriminatedUnion('op', [
  /** A bridge for a virtual network, tagged as ours, with its gateway address, up. */
  z.strictObject({ op: z.literal('bridge.create'), bridge: interfaceName, network: networkName, ipv4: hostCidr }),
  /** Deletes a bridge this helper created (never one without our tag). */
  z.strictObject({ op: z.literal('bridge.delete'), bridge: interfaceName }),
  /** A persistent tap owned by `uid`, attached to one of our bridges, up. */
  z.strictObject({ op: z.literal('tap.add'), tap: interfaceName, bridge: interfaceName, uid: z.number().int().min(0).max(0xfffffffe) }),
  z.strictObject({ op: z.literal('tap.remove'), tap: interfaceName }),
  z.strictObject({ op: z.literal('dnsmasq.start'), network: networkSpec }),
  /** Stops the network's dnsmasq; `purge` also removes its folder (config, leases) when the network is deleted. */
  z.strictObject({ op: z.literal('dnsmasq.stop'), network: networkName, purge: z.boolean().optional() }),
  z.strictObject({ op: z.literal('nft.apply'), network: networkSpec }),
  z.strictObject({ op: z.literal('nft.remove'), network: networkName }),
  z.strictObject({ op: z.literal('ipforward.enable') }),
  /**
   * A host bridge that takes over a physical interface: the bridge gets the interface's MAC,
   * IPv4 addresses and routes, so the host's own connection moves onto the bridge.
   */
  z.strictObject({ op: z.literal('hostbridge.create'), bridge: interfaceName, interface: interfaceName }),
  /** Undoes hostbridge.create: addresses and routes go back to the interface, the bridge is deleted. */
  z.strictObject({ op: z.literal('hostbridge.delete'), bridge: interfaceName }),
]);

export type PrivilegedOperation = z.output<typeof privilegedOperationSchema>;
export type OperationName = PrivilegedOperation['op'];
export const OPERATION_NAMES: readonly OperationName[] = privilegedOperationSchema.options.map((o) => o.shape.op.value);

export interface OperationResults {
  'bridge.create': { created: boolean };
  'bridge.delete': { deleted: boolean };
  'tap.add': { created: boolean };
  'tap.remove': { removed: boolean };
  'dnsmasq.start': { pid: number; pidFile: string; leaseFile: string };
  'dnsmasq.stop': { stopped: boolean };
  'nft.apply': { table: string };
  'nft.remove': { removed: boolean };
  'ipforward.enable': { changed: boolean };
  'hostbridge.create': { movedAddresses: string[]; movedRoutes: string[] };
  'hostbridge.delete': { deleted: boolean; restoredTo: string | undefined };
}
export type ResultOf<O extends PrivilegedOperation> = OperationResults[O['op']];

export function parsePrivilegedOperation(value: unknown): PrivilegedOperation {
  return parseOrThrow(privilegedOperationSchema, value, 'privileged operation');
}
