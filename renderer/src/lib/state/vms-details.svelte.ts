import type { VmDetails } from '../../../../engine/api/vm-api';
import { errorText } from '../common/errors';
import type { VirtdeskClient } from '../api/client';

/** While a VM runs, its runtime facts (IP addresses) are re-read this often. */
const RUNTIME_REFRESH_MS = 10_000;

/**
 * One VM's details page: its definition and runtime, reloaded when the VM changes (by this
 * window, another window or the CLI), and `update` with a merge patch of only what changed.
 */
export class VmDetailsModel {
  details = $state<VmDetails | undefined>(undefined);
  error = $state<string | undefined>(undefined);
  /** The VM is gone (deleted here or elsewhere). */
  missing = $state(false);
  readonly id: string;
  readonly client: VirtdeskClient;
  readonly #unsubscribe: (() => void)[] = [];
  #timer: ReturnType<typeof setInterval> | undefined;
  #loadSeq = 0;

  constructor(client: VirtdeskClient, id: string) {
    this.client = client;
    this.id = id;
    this.#unsubscribe.push(
      client.on('vms.changed', (event) => {
        if (event.ids.length === 0 || event.ids.includes(id)) void this.reload();
      }),
      client.on('vm.state', (event) => {
        if (event.id !== id) return;
        if (this.details) this.details = { ...this.details, runtime: { ...this.details.runtime, state: event.state, stateReason: event.stateReason } };
        void this.reload();
      }),
    );
    this.#timer = setInterval(() => {
      if (this.details?.runtime.state === 'running') void this.reload();
    }, RUNTIME_REFRESH_MS);
    void this.reload();
  }

  get definition() {
    return this.details?.definition;
  }

  async reload(): Promise<void> {
    const seq = ++this.#loadSeq;
    try {
      const details = await this.client.api.vms.get({ id: this.id });
      if (seq !== this.#loadSeq) return;
      this.details = details;
      this.error = undefined;
      this.missing = false;
    } catch (error) {
      if (seq !== this.#loadSeq) return;
      const code = (error as { code?: string }).code;
      if (code === 'not-found') this.missing = true;
      else this.error = errorText(error).message;
    }
  }

  /** Saves a JSON merge patch; throws the engine's error for the editor to show beside its fields. */
  async update(patch: Record<string, unknown>): Promise<VmDetails> {
    const details = await this.client.api.vms.update({ id: this.id, patch });
    this.#loadSeq++;
    this.details = details;
    return details;
  }

  /** Fields of the definition, by dotted path prefix, waiting for the next start. */
  pendingFor(prefix: string): string[] {
    return (this.details?.pendingRestart ?? []).filter((field) => field === prefix || field.startsWith(`${prefix}.`) || field.startsWith(`${prefix}[`));
  }

  dispose(): void {
    clearInterval(this.#timer);
    for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe();
  }
}
