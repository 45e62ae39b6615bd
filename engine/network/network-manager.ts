import { stat } from 'node:fs/promises';
import { EngineError } from '../api/errors';
import type { StoreProblem } from '../store';
import { localRunner, type CommandRunner } from './command-runner';
import { assertSubnetFree, readHostRoutes } from './host-routes';
import { parseCidr } from '../model/net/ipv4';
import { readLeaseFile, type DhcpLease } from './leases';
import { buildNetworkDefinition, type NetworkCreateInput, type NetworkDefinition } from './network-definition';
import { validateNetworkName } from '../model/net/network-names';
import { createNetworkStore, type NetworkStore } from './network-store';
import { findDnsmasqPids } from './privileged/dnsmasq-process';
import { readLink } from './privileged/execute';
import { ownerName, parseLinkTag } from './privileged/ownership';
import { nftTableName } from './privileged/nft-ruleset';
import type { PrivilegedOperation, ResultOf } from './privileged/operations';
import { runPrivileged } from './privileged/run-privileged';
import { networkStatePaths, networkStateRoot } from './privileged/state-paths';
import { tapNameFor } from './tap-names';
import { validateInterfaceName } from '../model/net/interface-names';

export type NetworkState = 'active' | 'inactive' | 'degraded';

export interface NetworkStatus {
  definition: NetworkDefinition;
  state: NetworkState;
  /** What is missing when degraded ("dnsmasq is not running"), or left over when inactive. */
  problems: string[];
  dnsmasqPid: number | undefined;
  /** Taps (running VM NICs) attached to the bridge. */
  attachedTaps: string[];
}

export type PrivilegedCall = <O extends PrivilegedOperation>(op: O) => Promise<ResultOf<O>>;

export interface NetworkManagerOptions {
  home: string;
  env?: NodeJS.ProcessEnv;
  /** Runs host tools; tests pass a namespace runner. */
  runner?: CommandRunner;
  /** Where dnsmasq's files live; defaults to networkStateRoot(home). */
  stateRoot?: string;
  /** How privileged steps run; defaults to runPrivileged with the runner and state root. */
  privileged?: PrivilegedCall;
  store?: NetworkStore;
  /** Whose networks these are (the owner the helper records); default this process's user. */
  uid?: number;
}

/** A lease joined with the network it came from. */
export interface NetworkLease extends DhcpLease {
  network: string;
}

/**
 * Virtual networks (libvirt-style NAT, routed, isolated): persisted definitions, and their
 * runtime (a bridge, dnsmasq, an nftables table) set up and torn down through the privileged
 * helper. Runtime state is read from the host every time, never cached: the host is the truth.
 */
export class NetworkManager {
  readonly store: NetworkStore;
  readonly runner: CommandRunner;
  readonly stateRoot: string;
  private readonly privileged: PrivilegedCall;
  /** The helper records this uid as the owner of what it creates for this engine. */
  private readonly uid: number;

  constructor(options: NetworkManagerOptions) {
    this.runner = options.runner ?? localRunner();
    this.stateRoot = options.stateRoot ?? networkStateRoot(options.home, options.env);
    this.store = options.store ?? createNetworkStore(options.home);
    this.uid = options.uid ?? process.geteuid?.() ?? 0;
    this.privileged =
      options.privileged ?? ((op) => runPrivileged(op, { runner: this.runner, stateRoot: this.stateRoot }));
  }

  async list(): Promise<{ items: NetworkStatus[]; problems: StoreProblem[] }> {
    const { items, problems } = await this.store.list();
    return { items: await Promise.all(items.map((def) => this.statusOf(def))), problems };
  }

  async show(ref: string): Promise<NetworkStatus> {
    return this.statusOf(await this.store.resolve(ref));
  }

  async create(input: NetworkCreateInput): Promise<NetworkDefinition> {
    validateNetworkName(input.name);
    if (input.bridge !== undefined) validateInterfaceName(input.bridge, 'bridge name');
    if (input.uplink !== undefined) validateInterfaceName(input.uplink, 'uplink interface name');
    const { items } = await this.store.list();
    const taken = { bridges: items.map((d) => d.bridge), subnets: items.map((d) => d.ipv4) };
    // Default bridge names must also skip interfaces that exist on the host.
    const hostLinks = await this.hostInterfaceNames();
    const def = buildNetworkDefinition(input, { ...taken, bridges: [...taken.bridges, ...hostLinks] });
    if (input.bridge !== undefined && hostLinks.includes(input.bridge)) {
      const link = await readLink(this.ctx(), input.bridge);
      if (parseLinkTag(link?.ifalias)?.kind !== 'network') {
        throw new EngineError('already-exists', `Interface ${input.bridge} already exists on the host`, {
          hint: 'A virtual network creates its own bridge; choose an unused name. To use an existing bridge, attach VMs with --net bridge:NAME.',
        });
      }
    }
    assertSubnetFree(parseCidr(def.ipv4), await readHostRoutes(this.runner));
    return this.store.create(def);
  }

  async setAutostart(ref: string, autostart: boolean): Promise<NetworkDefinition> {
    const def = await this.store.resolve(ref);
    return this.store.update(def.id, () => ({ autostart }));
  }

  /** Brings the network up; starting an active network repairs what is missing. */
  async start(ref: string): Promise<NetworkStatus> {
    const def = await this.store.resolve(ref);
    assertSubnetFree(parseCidr(def.ipv4), await readHostRoutes(this.runner), def.bridge);
    try {
      await this.privileged({ op: 'bridge.create', bridge: def.bridge, network: def.name, ipv4: def.ipv4 });
      if (def.mode !== 'isolated') await this.privileged({ op: 'ipforward.enable' });
      await this.privileged({ op: 'nft.apply', network: def });
      if (def.dhcp || def.dns) await this.privileged({ op: 'dnsmasq.start', network: def });
    } catch (error) {
      await this.teardown(def).catch(() => undefined);
      throw error;
    }
    return this.statusOf(def);
  }

  /**
   * Tears the network down: dnsmasq, its nft table, its bridge. Refuses while VMs are attached
   * unless `force` (their NICs then lose the network until they are restarted).
   */
  async stop(ref: string, options: { force?: boolean } = {}): Promise<NetworkStatus> {
    const def = await this.store.resolve(ref);
    const taps = await this.attachedTaps(def.bridge);
    if (taps.length > 0 && !options.force) {
      throw new EngineError('invalid-state', `Network ${def.name} is in use by ${taps.length} running VM NIC${taps.length === 1 ? '' : 's'} (${taps.join(', ')})`, {
        hint: 'Stop those VMs first, or use --force to cut them off.',
      });
    }
    // Nothing of it on the host: no privileged call (and no password prompt) for a no-op.
    if ((await this.statusOf(def)).state !== 'inactive') await this.teardown(def);
    return this.statusOf(def);
  }

  async delete(ref: string, options: { force?: boolean } = {}): Promise<void> {
    const def = await this.store.resolve(ref);
    await this.stop(def.id, options);
    const dir = networkStatePaths(this.stateRoot, def.name).dir;
    if (await stat(dir).then(() => true, () => false)) await this.privileged({ op: 'dnsmasq.stop', network: def.name, purge: true });
    await this.store.delete(def.id);
  }

  /** Starts every network marked autostart that is not active; one failure does not stop the rest. */
  async startAutostart(): Promise<{ started: string[]; failed: { name: string; error: unknown }[] }> {
    const started: string[] = [];
    const failed: { name: string; error: unknown }[] = [];
    for (const status of (await this.list()).items) {
      if (!status.definition.autostart || status.state === 'active') continue;
      try {
        await this.start(status.definition.id);
        started.push(status.definition.name);
      } catch (error) {
        failed.push({ name: status.definition.name, error });
      }
    }
    return { started, failed };
  }

  async leases(ref: string): Promise<DhcpLease[]> {
    const def = await this.store.resolve(ref);
    return readLeaseFile(networkStatePaths(this.stateRoot, def.name).leaseFile);
  }

  /** Every current lease of every network, for showing VMs' addresses by MAC. */
  async allLeases(): Promise<NetworkLease[]> {
    const { items } = await this.store.list();
    const all: NetworkLease[] = [];
    for (const def of items) {
      for (const lease of await readLeaseFile(networkStatePaths(this.stateRoot, def.name).leaseFile)) all.push({ ...lease, network: def.name });
    }
    return all;
  }

  /** The IPv4 address a NIC got from a network's DHCP, by MAC (newest lease wins). */
  async addressOf(mac: string): Promise<NetworkLease | undefined> {
    const wanted = mac.toLowerCase();
    const matches = (await this.allLeases()).filter((l) => l.mac === wanted);
    return matches.sort((a, b) => (b.expiresAt ?? '9').localeCompare(a.expiresAt ?? '9'))[0];
  }

  /**
   * Creates the tap for one NIC on an active network and returns its name for
   * `-netdev tap,ifname=NAME,script=no,downscript=no`. The tap belongs to `uid` (this
   * process's user by default), so an unprivileged QEMU can open it.
   */
  async prepareTap(ref: string, nic: { vmId: string; nicId: string; uid?: number }): Promise<{ tap: string; bridge: string; network: string }> {
    const def = await this.store.resolve(ref);
    const status = await this.statusOf(def);
    if (status.state === 'inactive') {
      throw new EngineError('invalid-state', `Network ${def.name} is not running`, { hint: `Start it with \`virtdesk net start ${def.name}\`, or mark it autostart.` });
    }
    const tap = tapNameFor(nic.vmId, nic.nicId);
    await this.privileged({ op: 'tap.add', tap, bridge: def.bridge, uid: nic.uid ?? process.geteuid?.() ?? 0 });
    return { tap, bridge: def.bridge, network: def.name };
  }

  /** Removes a NIC's tap after its VM stopped; a missing tap is fine. */
  async releaseTap(nic: { vmId: string; nicId: string }): Promise<void> {
    await this.privileged({ op: 'tap.remove', tap: tapNameFor(nic.vmId, nic.nicId) });
  }

  private async teardown(def: NetworkDefinition): Promise<void> {
    const errors: unknown[] = [];
    // Each step runs even when one before it failed: leave as little behind as possible.
    for (const op of [
      { op: 'dnsmasq.stop', network: def.name },
      { op: 'nft.remove', network: def.name },
      { op: 'bridge.delete', bridge: def.bridge },
    ] as const) {
      await this.privileged(op).catch((error: unknown) => errors.push(error));
    }
    if (errors.length > 0) throw errors[0];
  }

  private ctx() {
    return { runner: this.runner, stateRoot: this.stateRoot };
  }

  private async hostInterfaceNames(): Promise<string[]> {
    const result = await this.runner.run('ip', ['-j', 'link', 'show']);
    if (result.code !== 0) return [];
    return (JSON.parse(result.stdout || '[]') as { ifname: string }[]).map((l) => l.ifname);
  }

  private async attachedTaps(bridge: string): Promise<string[]> {
    const result = await this.runner.run('ip', ['-j', 'link', 'show', 'master', bridge]);
    if (result.code !== 0) return [];
    return (JSON.parse(result.stdout || '[]') as { ifname: string }[]).map((l) => l.ifname);
  }

  async statusOf(def: NetworkDefinition): Promise<NetworkStatus> {
    const problems: string[] = [];
    const leftovers: string[] = [];
    const link = await readLink(this.ctx(), def.bridge);
    const tag = parseLinkTag(link?.ifalias);
    const bridgeOurs = tag?.kind === 'network' && tag.detail === def.name && tag.owner === this.uid;
    if (link && !bridgeOurs) {
      problems.push(
        tag?.kind === 'network' && tag.detail === def.name
          ? `interface ${def.bridge} belongs to ${ownerName(tag.owner)}'s network ${def.name}, not to this user's`
          : `interface ${def.bridge} exists but was not created for this network`,
      );
    }
    const pids = await findDnsmasqPids(networkStatePaths(this.stateRoot, def.name));
    const wantsDnsmasq = def.dhcp !== undefined || def.dns;
    const table = await this.runner.run('nft', ['list', 'table', 'ip', nftTableName(def.name)]);
    // Unprivileged, nft cannot list anything: the table's presence is then unknown, not absent.
    const tableKnown = table.code === 0 || /No such file or directory/.test(table.stderr);
    const tablePresent = table.code === 0;
    let state: NetworkState;
    if (bridgeOurs) {
      if (wantsDnsmasq && pids.length === 0) problems.push('dnsmasq is not running');
      if (tableKnown && !tablePresent) problems.push(`nftables table ip ${nftTableName(def.name)} is missing`);
      state = problems.length > 0 ? 'degraded' : 'active';
    } else {
      if (pids.length > 0) leftovers.push(`dnsmasq (pid ${pids.join(', ')}) is still running`);
      if (tablePresent) leftovers.push(`nftables table ip ${nftTableName(def.name)} is still present`);
      state = leftovers.length > 0 ? 'degraded' : 'inactive';
      problems.push(...leftovers);
    }
    return {
      definition: def,
      state,
      problems,
      dnsmasqPid: pids[0],
      attachedTaps: bridgeOurs ? await this.attachedTaps(def.bridge) : [],
    };
  }
}
