import type { Nic } from '../model/nic';
import type { NicBackend } from '../qemu/argv/types';
import { checkBridgeAccess, type BridgeAccessOptions } from './bridge-access';
import { localRunner, type CommandRunner } from './command-runner';
import { prepareLinkEndpoint, releaseLinkEndpoint } from './link-endpoints';
import type { NetworkManager } from './network-manager';
import { assertHostPortFree } from './port-holders';

export interface NicBackendDeps {
  home: string;
  env?: NodeJS.ProcessEnv;
  /** Needed when a NIC is on a virtual network. */
  networks?: NetworkManager;
  runner?: CommandRunner;
  /** Owner of created taps; this process's user by default. */
  uid?: number;
  bridgeAccess?: Omit<BridgeAccessOptions, 'runner'>;
}

interface VmNics {
  id: string;
  nics: readonly Nic[];
}

/**
 * Resolves every non-user NIC of a VM to what `-netdev` needs (engine/qemu/argv's
 * `nicBackends` input), creating taps on virtual networks and checking bridges and links. User
 * NICs get their forwarded host ports checked, so a taken port is reported with its holder
 * instead of as QEMU's "could not set up host forwarding rule". On failure, what was made is undone.
 */
export async function prepareNicBackends(vm: VmNics, deps: NicBackendDeps): Promise<Record<string, NicBackend>> {
  const backends: Record<string, NicBackend> = {};
  const runner = deps.runner ?? deps.networks?.runner ?? localRunner();
  try {
    for (const nic of vm.nics) {
      const network = nic.network;
      switch (network.kind) {
        case 'user':
          for (const forward of network.portForwards) await assertHostPortFree(forward.protocol, forward.hostAddress, forward.hostPort);
          break;
        case 'network': {
          if (!deps.networks) throw new Error('prepareNicBackends: a NetworkManager is needed for NICs on virtual networks');
          const { tap } = await deps.networks.prepareTap(network.name, { vmId: vm.id, nicId: nic.id, uid: deps.uid });
          backends[nic.id] = { type: 'tap', ifname: tap };
          break;
        }
        case 'bridge': {
          const { helper } = await checkBridgeAccess(network.name, { ...deps.bridgeAccess, runner });
          backends[nic.id] = { type: 'bridge', bridge: network.name, helper };
          break;
        }
        case 'link': {
          const endpoint = await prepareLinkEndpoint(deps.home, network.name, network.role, deps.env);
          backends[nic.id] = { type: 'dgram-unix', ...endpoint };
          break;
        }
      }
    }
  } catch (error) {
    await releaseNicBackends({ id: vm.id, nics: vm.nics.filter((nic) => backends[nic.id] !== undefined) }, deps).catch(() => undefined);
    throw error;
  }
  return backends;
}

/** Undoes prepareNicBackends after the VM's QEMU has exited: removes taps and link sockets. */
export async function releaseNicBackends(vm: VmNics, deps: NicBackendDeps): Promise<void> {
  const errors: unknown[] = [];
  for (const nic of vm.nics) {
    const network = nic.network;
    try {
      if (network.kind === 'network' && deps.networks) await deps.networks.releaseTap({ vmId: vm.id, nicId: nic.id });
      if (network.kind === 'link') await releaseLinkEndpoint(deps.home, network.name, network.role, deps.env);
    } catch (error) {
      errors.push(error);
    }
  }
  if (errors.length > 0) throw errors[0];
}
