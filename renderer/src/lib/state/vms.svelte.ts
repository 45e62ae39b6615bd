import type { VmStateName, VmSummary } from '../../../../engine/api/vm-api';
import { errorText } from '../common/errors';
import type { VirtdeskClient } from '../api/client';
import { indexById } from './id-index';
import { applyVmChanges } from './vms-changes';
import { compareNames } from './vms-sort';
import { VmStatsHistory } from './vms-stats.svelte';

/** Every VM the host knows, kept current by `vms.changed`, `vm.state` and `vms.stats` events. */
export class VmList {
  /**
   * Replaced as a whole on every change, never mutated: `raw` spares a deep proxy (and a signal)
   * per field of every VM, which the list's rows do not need.
   */
  items = $state.raw<VmSummary[]>([]);
  /**
   * `byId`'s lookup, rebuilt when `items` is replaced. A plain cache, not a `$derived`: the list
   * outlives the page that created it, and a derived owned by a destroyed component goes stale.
   */
  #index: { items: readonly VmSummary[]; byId: ReadonlyMap<string, VmSummary> } | undefined;
  loaded = $state(false);
  error = $state<string | undefined>(undefined);
  /** The last state change, phrased for a screen reader's live region. */
  announcement = $state('');
  readonly stats = new VmStatsHistory();
  readonly client: VirtdeskClient;
  readonly #unsubscribe: (() => void)[] = [];
  #refreshing: Promise<void> | undefined;
  #refreshAgain = false;

  constructor(client: VirtdeskClient) {
    this.client = client;
    this.#unsubscribe.push(
      client.on('vms.changed', (event) => this.#onChanged(event.ids, event.summaries)),
      client.on('vm.state', (event) => this.#onState(event.id, event.state, event.stateReason, event.stateSince)),
      client.on('vms.stats', (event) => {
        for (const sample of event.samples) this.stats.push(sample);
      }),
    );
    void this.refresh();
  }

  byId(id: string): VmSummary | undefined {
    // Reading `items` makes a caller in a reactive context depend on the list, as before.
    const items = this.items;
    if (this.#index?.items !== items) this.#index = { items, byId: indexById(items) };
    return this.#index.byId.get(id);
  }

  /** Reloads the list; calls during a reload coalesce into one more reload after it. */
  refresh(): Promise<void> {
    if (this.#refreshing) {
      this.#refreshAgain = true;
      return this.#refreshing;
    }
    this.#refreshing = (async () => {
      do {
        this.#refreshAgain = false;
        try {
          const list = await this.client.api.vms.list({});
          this.items = list.sort((a, b) => compareNames(a.name, b.name));
          this.error = undefined;
        } catch (error) {
          this.error = errorText(error).message;
        }
        this.loaded = true;
      } while (this.#refreshAgain);
      this.#refreshing = undefined;
    })();
    return this.#refreshing;
  }

  /**
   * Edits and deletions are applied from the entries the event carries, without asking for the
   * whole list; a new or renamed VM, or an event during a reload (whose answer may predate it),
   * reloads instead.
   */
  #onChanged(ids: readonly string[], summaries: readonly VmSummary[] | undefined): void {
    const next = this.#refreshing ? undefined : applyVmChanges(this.items, ids, summaries);
    if (next) this.items = next;
    else void this.refresh();
  }

  #onState(id: string, state: VmStateName, stateReason: string | null, stateSince: string | undefined): void {
    const vm = this.byId(id);
    if (!vm) {
      void this.refresh();
      return;
    }
    if (vm.state === state && vm.stateReason === stateReason) return;
    if (state === 'starting') this.stats.clear(id);
    const since = state !== 'shutting-down' ? null : (stateSince ?? (vm.state === state ? vm.stateSince : isoNow()));
    this.items = this.items.map((item) => (item.id === id ? { ...item, state, stateReason, stateSince: since ?? null } : item));
    this.announcement = `${vm.name} is ${stateLabel(state).toLowerCase()}${stateReason ? `: ${stateReason}` : ''}`;
  }

  dispose(): void {
    for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe();
  }
}

const STATE_LABELS: Record<VmStateName, string> = {
  stopped: 'Stopped',
  starting: 'Starting',
  running: 'Running',
  paused: 'Paused',
  'shutting-down': 'Shutting down',
  crashed: 'Crashed',
};

export function stateLabel(state: VmStateName): string {
  return STATE_LABELS[state];
}

const lists = new WeakMap<VirtdeskClient, VmList>();

/** The one VmList of a connection: pages come and go, the list and its graphs' history stay. */
export function vmListFor(client: VirtdeskClient): VmList {
  let list = lists.get(client);
  if (!list) lists.set(client, (list = new VmList(client)));
  return list;
}

/** An older engine sends no state time: take the moment the event arrived. */
function isoNow(): string {
  return new Date(Date.now()).toISOString();
}
