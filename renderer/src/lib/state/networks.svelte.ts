import type { LeaseInfo, NetworkInfo } from '../../../../engine/api/network-api';
import type { VirtdeskClient } from '../api/client';
import { describeError } from './images.svelte';

/** The Networks section: virtual networks as the host reports them, their leases, and actions on them. */
export class NetworksState {
  networks = $state<NetworkInfo[]>([]);
  problems = $state<string[]>([]);
  /** Why privileged steps may ask for a password (null when the host runs as root). */
  privilegeNote = $state<string | null>(null);
  loaded = $state(false);
  error = $state<string | undefined>();
  /** Network ids with an action in flight. */
  busy = $state<string[]>([]);
  selected = $state<string | undefined>();
  leases = $state<LeaseInfo[]>([]);
  readonly #client: VirtdeskClient;
  readonly #unsubscribe: () => void;

  constructor(client: VirtdeskClient) {
    this.#client = client;
    this.#unsubscribe = client.on('networks.changed', () => void this.refresh());
  }

  get api() {
    return this.#client.api.networks;
  }

  get selectedNetwork(): NetworkInfo | undefined {
    return this.networks.find((n) => n.id === this.selected);
  }

  dispose(): void {
    this.#unsubscribe();
  }

  async refresh(): Promise<void> {
    try {
      const { networks, problems, privileges } = await this.api.list({});
      this.networks = networks.sort((a, b) => a.name.localeCompare(b.name));
      this.problems = problems;
      this.privilegeNote = privileges.note;
      if (this.selected !== undefined && !networks.some((n) => n.id === this.selected)) this.selected = undefined;
      await this.refreshLeases();
    } catch (error) {
      this.error = describeError(error);
    } finally {
      this.loaded = true;
    }
  }

  async select(id: string | undefined): Promise<void> {
    this.selected = id;
    this.leases = [];
    await this.refreshLeases();
  }

  async refreshLeases(): Promise<void> {
    const id = this.selected;
    if (id === undefined) return;
    try {
      const leases = await this.api.leases({ ref: id });
      if (id === this.selected) this.leases = leases;
    } catch (error) {
      this.error = describeError(error);
    }
  }

  isBusy(id: string): boolean {
    return this.busy.includes(id);
  }

  /** Runs one action on a network; its error is shown on the page in the engine's words. */
  async act(id: string, action: () => Promise<unknown>): Promise<boolean> {
    this.busy = [...this.busy, id];
    this.error = undefined;
    try {
      await action();
      return true;
    } catch (error) {
      this.error = describeError(error);
      return false;
    } finally {
      this.busy = this.busy.filter((b) => b !== id);
      await this.refresh();
    }
  }

  start(network: NetworkInfo) {
    return this.act(network.id, () => this.api.start({ ref: network.id }));
  }

  stop(network: NetworkInfo, force = false) {
    return this.act(network.id, () => this.api.stop({ ref: network.id, force }));
  }

  remove(network: NetworkInfo) {
    return this.act(network.id, () => this.api.delete({ ref: network.id, force: false }));
  }

  setAutostart(network: NetworkInfo, autostart: boolean) {
    return this.act(network.id, () => this.api.setAutostart({ ref: network.id, autostart }));
  }
}
