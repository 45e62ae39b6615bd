import type { ImplementationOf } from '../api/contract';
import { EngineError } from '../api/errors';
import type { EventBus } from '../api/events';
import type { LeaseInfo, NetworkInfo, networkEvents, networkMethods, PortForwardInfo, VmPortForwards } from '../api/network-api';
import type { Nic, PortForward, VmDefinition } from '../model';
import { netdevId } from '../qemu/argv/ids';
import { findRunningQemu } from '../vm/pidfile';
import { withCommandQmp } from '../vm/qmp-session';
import { vmRuntimePaths } from '../vm/runtime-dir';
import { openVmStore, type VmStore } from '../vm/vm-store';
import { listHostBridges } from './host-bridges';
import type { DhcpLease } from './leases';
import { NetworkManager, type NetworkStatus } from './network-manager';
import { addActiveForward, assertNoForwardClash, listActiveForwards, removeActiveForward } from './port-forwards';
import { forwardsClash } from './port-forward-spec';

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

type UserNic = Nic & { network: Extract<Nic['network'], { kind: 'user' }> };
const isUserNic = (nic: Nic): nic is UserNic => nic.network.kind === 'user';

function userNic(def: VmDefinition, nicId: string): UserNic {
  const nic = def.nics.find((n) => n.id === nicId);
  if (!nic) throw new EngineError('not-found', `VM "${def.name}" has no NIC "${nicId}".`, { hint: `Its NICs: ${def.nics.map((n) => n.id).join(', ') || 'none'}.` });
  if (!isUserNic(nic)) {
    throw new EngineError('invalid-argument', `NIC "${nicId}" of VM "${def.name}" is on ${nic.network.kind} networking; port forwards exist only on user-mode NAT.`, {
      hint: 'A VM on a virtual network or bridge is reachable at its own address (see the network\'s leases).',
    });
  }
  return nic;
}

/** Implements engine/api's networks service over NetworkManager and the port-forward helpers. */
export function createNetworkService(options: NetworkRpcOptions): NetworkImplementation {
  const env = options.env ?? process.env;
  const manager = options.manager ?? new NetworkManager({ home: options.home, env });
  const root = options.isRoot ?? (process.geteuid?.() ?? 0) === 0;
  const vms: VmStore = openVmStore(options.home);
  const changed = (id: string) => options.bus.emit('networks.changed', { ids: [id] });

  const pathsOf = (def: VmDefinition) => vmRuntimePaths(options.home, def.id, env);
  const running = async (def: VmDefinition) => (await findRunningQemu(pathsOf(def))) !== undefined;

  async function forwardsOf(def: VmDefinition): Promise<VmPortForwards> {
    const live = (await running(def)) ? await withCommandQmp(pathsOf(def), def.name, (qmp) => listActiveForwards(qmp)) : null;
    return {
      vmId: def.id,
      running: live !== null,
      nics: def.nics.filter(isUserNic).map((nic) => ({
        nicId: nic.id,
        forwards: nic.network.portForwards,
        active:
          live === null
            ? null
            : live
                .filter((f) => f.netdev === netdevId(nic.id))
                .map((f): PortForwardInfo => ({ protocol: f.protocol, hostAddress: f.hostAddress, hostPort: f.hostPort, guestPort: f.guestPort })),
      })),
    };
  }

  /** Read-modify-write of one NIC's forwards on the fresh definition. */
  async function updateForwards(def: VmDefinition, nicId: string, change: (forwards: PortForward[]) => PortForward[]): Promise<VmDefinition> {
    return vms.update(def.id, (fresh) => ({
      nics: fresh.nics.map((nic) => (nic.id === nicId && isUserNic(nic) ? { ...nic, network: { ...nic.network, portForwards: change(nic.network.portForwards) } } : nic)),
    }));
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

    portForwards: async ({ vmId }) => forwardsOf(await vms.resolve(vmId)),
    async addPortForward({ vmId, nicId, forward }) {
      const def = await vms.resolve(vmId);
      const nic = userNic(def, nicId);
      assertNoForwardClash(
        def.nics.filter(isUserNic).flatMap((n) => n.network.portForwards),
        forward,
      );
      const live = await running(def);
      if (live) await withCommandQmp(pathsOf(def), def.name, (qmp) => addActiveForward(qmp, nic.id, forward));
      try {
        return await forwardsOf(await updateForwards(def, nic.id, (forwards) => [...forwards, forward]));
      } catch (error) {
        // The definition could not take it: do not leave a forward QEMU has but the VM does not.
        if (live) await withCommandQmp(pathsOf(def), def.name, (qmp) => removeActiveForward(qmp, nic.id, forward)).catch(() => undefined);
        throw error;
      }
    },
    async removePortForward({ vmId, nicId, protocol, hostAddress, hostPort }) {
      const def = await vms.resolve(vmId);
      const nic = userNic(def, nicId);
      const matches = (f: PortForward) => f.protocol === protocol && f.hostPort === hostPort && (hostAddress === undefined || f.hostAddress === hostAddress);
      const target = nic.network.portForwards.find(matches);
      let removedLive = false;
      if (await running(def)) {
        const live = (await withCommandQmp(pathsOf(def), def.name, (qmp) => listActiveForwards(qmp))).filter(
          (f) => f.netdev === netdevId(nic.id) && forwardsClash(f, { protocol, hostAddress: hostAddress ?? f.hostAddress, hostPort }),
        );
        for (const forward of live) {
          const { removed } = await withCommandQmp(pathsOf(def), def.name, (qmp) => removeActiveForward(qmp, nic.id, forward));
          removedLive ||= removed;
        }
      }
      if (!target && !removedLive) {
        throw new EngineError('not-found', `NIC "${nicId}" of VM "${def.name}" has no ${protocol} forward from host port ${hostPort}.`);
      }
      return forwardsOf(target ? await updateForwards(def, nic.id, (forwards) => forwards.filter((f) => !matches(f))) : def);
    },
  };
}
