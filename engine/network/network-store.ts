import { join } from 'node:path';
import { EngineError } from '../api/errors';
import { createDocumentStore, type DocumentStore } from '../store';
import { cidrsOverlap, formatSubnet, parseCidr } from '../model/net/ipv4';
import { NETWORK_SCHEMA_VERSION, parseNetworkDefinition, type NetworkDefinition } from './network-definition';

export type NetworkStore = DocumentStore<NetworkDefinition>;

/**
 * Two definitions may not share a bridge or overlapping subnets: starting both would fight
 * over the same interface or route. Checked inside the store lock on create and update.
 */
export function assertNoClash(candidate: NetworkDefinition, others: readonly NetworkDefinition[]): void {
  const subnet = parseCidr(candidate.ipv4);
  for (const other of others) {
    if (other.bridge === candidate.bridge) {
      throw new EngineError('already-exists', `Bridge ${candidate.bridge} is already used by network ${other.name}`, {
        hint: 'Choose another bridge name, or leave it out to get a free one.',
      });
    }
    if (cidrsOverlap(subnet, parseCidr(other.ipv4))) {
      throw new EngineError('conflict', `Subnet ${formatSubnet(subnet)} overlaps network ${other.name}'s ${formatSubnet(parseCidr(other.ipv4))}`, {
        hint: 'Choose another subnet, or leave --ipv4 out to get a free one.',
      });
    }
  }
}

/** `$VIRTDESK_HOME/networks/<id>/network.json`, one per virtual network. */
export function createNetworkStore(home: string): NetworkStore {
  return createDocumentStore<NetworkDefinition>({
    root: join(home, 'networks'),
    kind: 'net',
    label: 'network',
    fileName: 'network.json',
    parse: parseNetworkDefinition,
    migrate: (raw) => raw,
    currentVersion: NETWORK_SCHEMA_VERSION,
    checkUnique: assertNoClash,
  });
}
