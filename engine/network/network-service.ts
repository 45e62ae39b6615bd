import type { ImplementationOf } from '../api/contract';
import type { EventBus } from '../api/events';
import type { LeaseInfo, NetworkInfo, networkEvents, networkMethods, VmPortForwards } from '../api/network-api';
import { openVmStore, type VmStore } from '../vm/definitions/store';
import { listHostBridges } from './host-bridges';
import type { DhcpLease } from './leases';
import { NetworkManager, type NetworkStatus } from './network-manager';
import { addVmPortForward, listVmPortForwards, removeVmPortForward, type VmPortForwardContext } from './vm-port-forwards';

export interface NetworkRpcOptions {
  home: string;
  env?: NodeJS.ProcessEnv;
  bus: EventBus<Record<string, unknown>>;
  /** Tests pass a manager inside a network namespace; default one for the host. */
  manager?: NetworkManager;
  /** Default: this process's effective uid is 0. */
  isRoot?: boolean;
}

type NetworkContract = { services: { networks: typeof networkMethods }; events: typeof networkEvents };
export type NetworkImplementation = ImplementationOf<NetworkContract>['networks'];

export const PKEXEC_NOTE =
  'Starting, stopping and deleting networks needs root. Virtdesk asks for it through pkexec (polkit) each time; without polkit and the Virtdesk network helper installed, only user-mode NAT works.';

function toWire(status: NetworkStatus): NetworkInfo {
  const { definition: def } = status;
  return {
    id: def.id,
    name: def.name,
    mode: def.mode,
    bridge: def.bridge,
    ipv4: def.ipv4,
    ...(def.dhcp ? { dhcp: def.dhcp } : {}),
    dns: def.dns,
    ...(def.uplink !== undefined ? { uplink: def.uplink } : {}),
    autostart: def.autostart,
    state: status.state,
    problems: status.problems,
    dnsmasqPid: status.dnsmasqPid ?? null,
    attachedTaps: status.attachedTaps,
  };
}

function leaseToWire(lease: DhcpLease): LeaseInfo {
  return { mac: lease.mac, ip: lease.ip, hostname: lease.hostname ?? null, expiresAt: lease.expiresAt ?? null };
}

/** Implements engine/api's networks service over NetworkManager and the port-forward helpers. */
export function createNetworkService(options: NetworkRpcOptions): NetworkImplementation {
  const env = options.env ?? process.env;
  const manager = options.manager ?? new NetworkManager({ home: options.home, env });
  const root = options.isRoot ?? (process.geteuid?.() ?? 0) === 0;
  const vms: VmStore = openVmStore(options.home);
  const changed = (id: string) => options.bus.emit('networks.changed', { ids: [id] });

  const forwardsCtx: VmPortForwardContext = { home: options.home, env, store: vms };

  async function forwardsOf(vmRef: string): Promise<VmPortForwards> {
    const list = await listVmPortForwards(forwardsCtx, vmRef);
    const def = await vms.get(list.vm.id);
    return {
      vmId: list.vm.id,
      running: list.running,
      userNics: def.nics.filter((nic) => nic.network.kind === 'user').map((nic) => nic.id),
      forwards: list.forwards.map((entry) => ({ nicId: entry.nic, forward: entry.forward, active: entry.active })),
    };
  }

  async function lifecycle(run: () => Promise<NetworkStatus>): Promise<NetworkInfo> {
    const status = await run();
    changed(status.definition.id);
    return toWire(status);
  }

  return {
    async list() {
      const { items, problems } = await manager.list();
      return { networks: items.map(toWire), problems: problems.map((p) => p.message), privileges: { root, note: root ? null : PKEXEC_NOTE } };
    },
    get: async ({ ref }) => toWire(await manager.show(ref)),
    async create(params) {
      const input: Parameters<NetworkManager['create']>[0] = { name: params.name };
      if (params.mode !== undefined) input.mode = params.mode;
      if (params.ipv4 !== undefined) input.ipv4 = params.ipv4;
      if (params.dhcp !== undefined) input.dhcp = params.dhcp;
      if (params.dns !== undefined) input.dns = params.dns;
      if (params.uplink !== undefined) input.uplink = params.uplink;
      if (params.bridge !== undefined) input.bridge = params.bridge;
      if (params.autostart !== undefined) input.autostart = params.autostart;
      const def = await manager.create(input);
      changed(def.id);
      return toWire(await manager.statusOf(def));
    },
    start: ({ ref }) => lifecycle(() => manager.start(ref)),
    stop: ({ ref, force }) => lifecycle(() => manager.stop(ref, { force })),
    async delete({ ref, force }) {
      const def = await manager.store.resolve(ref);
      await manager.delete(def.id, { force });
      changed(def.id);
      return null;
    },
    async setAutostart({ ref, autostart }) {
      const def = await manager.setAutostart(ref, autostart);
      changed(def.id);
      return toWire(await manager.statusOf(def));
    },
    leases: async ({ ref }) => (await manager.leases(ref)).map(leaseToWire),
    async hostBridges() {
      return (await listHostBridges(manager.runner)).map((bridge) => ({
        name: bridge.name,
        ports: bridge.ports,
        addresses: bridge.addresses,
        createdFrom: bridge.createdBy.virtdesk ? bridge.createdBy.interface : null,
      }));
    },

    portForwards: ({ vmId }) => forwardsOf(vmId),
    async addPortForward({ vmId, nicId, forward }) {
      await addVmPortForward(forwardsCtx, vmId, forward, nicId === undefined ? {} : { nic: nicId });
      return forwardsOf(vmId);
    },
    async removePortForward({ vmId, nicId, protocol, hostAddress, hostPort }) {
      await removeVmPortForward(forwardsCtx, vmId, { protocol, hostPort, ...(hostAddress === undefined ? {} : { hostAddress }) }, nicId === undefined ? {} : { nic: nicId });
      return forwardsOf(vmId);
    },
  };
}
