import type { VmRuntime, VmSummary } from '../api/vm-api';
import type { VmDefinition } from '../model';
import type { NetworkManager } from '../network/network-manager';
import type { VmDomainEvent } from '../qemu/qmp';
import type { VmCatalog, VmSummaryBase } from './definitions/catalog';
import type { VmRegistry } from './definitions/registry';
import { isTemplate } from './ops/clone/template';
import { savedAt } from './ops/save-restore/saved-state';
import { readRuntimeRecord, type RuntimeRecord } from './runtime/records';
import { stateReasonText, type ExitReason, type VmState } from './states';
import type { VmStatsSample } from './stats/collector';

/** One VM in a list: engine/api's VmSummary, with its saved and template marks always given. */
export type VmListEntry = Required<VmSummary>;

/** Runtime facts of one VM: engine/api's VmRuntime, plus how the last run ended and where its serial output is. */
export type VmRuntimeInfo = Required<VmRuntime> & {
  exitReason: ExitReason | null;
  /** Where QEMU keeps the guest's serial output. */
  serialLog: string;
};

export type VmManagerEvent =
  /**
   * Definitions appeared, changed or went, by this process or another (the CLI); `summaries` are
   * the list entries of those of `ids` that still exist (an id without one is gone).
   */
  | { type: 'vms.changed'; ids: string[]; summaries: VmListEntry[] }
  | { type: 'vm.state'; id: string; state: VmState; stateReason: string | null; stateSince?: string }
  | { type: 'vm.stats'; id: string; stats: VmStatsSample }
  | { type: 'vm.event'; id: string; event: VmDomainEvent }
  /** A long operation (snapshot, save, clone) moving on, 0–1. */
  | { type: 'vm.progress'; id: string; operation: 'snapshot' | 'save' | 'clone'; fraction: number };

/** What the read model needs to know of a VM's live state (the supervisors' tracking gives it). */
export interface LiveVm {
  machine: { readonly state: VmState; readonly exitReason: ExitReason | undefined };
  pid: number | undefined;
  runtime: RuntimeRecord | undefined;
  /** When the VM entered its state (ms since the epoch). */
  stateSince: number;
}

export interface ReadModelSources {
  home: string;
  catalog: VmCatalog;
  registry: VmRegistry;
  networks?: NetworkManager;
  live(id: string): LiveVm | undefined;
  /** Resolves a name or id and makes sure its live state is known (may scan). */
  ensureLive(ref: string): Promise<{ def: VmDefinition; tracked: LiveVm }>;
}

/**
 * What the host answers about VMs: the list from memory (definitions and marks from the catalog,
 * states from the state machines) and one VM's details with its runtime facts.
 */
export class VmReadModel {
  readonly #sources: ReadModelSources;

  constructor(sources: ReadModelSources) {
    this.#sources = sources;
  }

  /**
   * Every VM, sorted by name, from memory. No disk access; VMs whose vm.json does not load are left
   * out (the host log and `virtdesk vm list` name the file).
   */
  list(): VmListEntry[] {
    return this.#sources.catalog.summaries().map((base) => this.#summary(base));
  }

  summariesOf(ids: readonly string[]): VmListEntry[] {
    return ids.flatMap((id) => {
      const base = this.#sources.catalog.summaryOf(id);
      return base ? [this.#summary(base)] : [];
    });
  }

  #summary(base: VmSummaryBase): VmListEntry {
    const tracked = this.#sources.live(base.id);
    const state = tracked?.machine.state ?? 'stopped';
    return {
      ...base,
      tags: [...base.tags],
      state,
      stateReason: stateReasonText(state, tracked?.machine.exitReason, base.savedAt),
      stateSince: tracked && state === 'shutting-down' ? new Date(tracked.stateSince).toISOString() : null,
    };
  }

  async get(ref: string): Promise<{ definition: VmDefinition; runtime: VmRuntimeInfo }> {
    const { home, catalog, registry } = this.#sources;
    const { def, tracked } = await this.#sources.ensureLive(ref);
    const runtime = tracked.runtime ?? (tracked.pid !== undefined ? await readRuntimeRecord(registry.paths(def)) : undefined);
    const state = tracked.machine.state;
    const [saved, template] = await Promise.all([savedAt(home, def.id), isTemplate(home, def.id)]);
    // Fresh from disk: if the list's copy is behind (a template mark set a moment ago), catch it up.
    catalog.noteExtras(def.id, { savedAt: saved, template });
    return {
      definition: def,
      runtime: {
        state,
        stateReason: stateReasonText(state, tracked.machine.exitReason, saved),
        exitReason: tracked.machine.exitReason ?? null,
        pid: tracked.pid ?? null,
        startedAt: runtime?.startedAt ?? null,
        accelerator: runtime?.accelerator ?? null,
        cpuModel: runtime?.cpuModel ?? null,
        ipAddresses: tracked.pid === undefined ? [] : await this.#leasedAddresses(def),
        serialLog: registry.paths(def).serialLog,
        savedAt: saved,
        template,
      },
    };
  }

  /**
   * Addresses the VM's NICs on virtual networks were given by that network's dnsmasq. NICs on user
   * NAT or a host bridge have no lease we can read (that would need a guest agent).
   */
  async #leasedAddresses(def: VmDefinition): Promise<string[]> {
    const networks = this.#sources.networks;
    if (!networks) return [];
    const onNetworks = def.nics.filter((nic) => nic.network.kind === 'network');
    const leases = await Promise.all(onNetworks.map((nic) => networks.addressOf(nic.mac).catch(() => undefined)));
    return leases.flatMap((lease) => (lease ? [lease.ip] : []));
  }
}
