import type { IsoInfo, OsDetectionInfo, Pool, VolumeInfo } from '../../../../engine/api/storage-api';
import type { VirtdeskClient } from '../api/client';

/** What a person reads when an engine call fails: the engine's message, and its hint when it has one. */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const hint = (error as Error & { hint?: string }).hint;
    return hint ? `${error.message} ${hint}` : error.message;
  }
  return String(error);
}

export function newOperationId(): string {
  return globalThis.crypto?.randomUUID?.() ?? `op-${Date.now()}-${Math.random().toString(36).slice(2)}`;
}

/** One long operation the user started here: what it is, how far it got, and how to cancel it. */
export class Operation {
  readonly id = newOperationId();
  done = $state(0);
  total = $state<number | null>(null);
  error = $state<string | undefined>();
  finished = $state(false);
  readonly controller = new AbortController();

  constructor(readonly label: string) {}

  /** 0–1, or null while nothing is known (an indeterminate bar). */
  get fraction(): number | null {
    if (this.finished) return 1;
    return this.total ? Math.min(1, this.done / this.total) : null;
  }

  cancel(): void {
    this.controller.abort();
  }
}

/**
 * The Images section: pools, the selected pool's volumes, the ISO library, and the long
 * operations started from here with their progress (from `storage.progress` events).
 */
export class ImagesState {
  pools = $state<Pool[]>([]);
  selectedPool = $state<string | undefined>();
  volumes = $state<VolumeInfo[]>([]);
  isos = $state<IsoInfo[]>([]);
  problems = $state<string[]>([]);
  loading = $state(false);
  error = $state<string | undefined>();
  operations = $state<Operation[]>([]);
  readonly #client: VirtdeskClient;
  readonly #unsubscribe: (() => void)[] = [];

  constructor(client: VirtdeskClient) {
    this.#client = client;
    this.#unsubscribe.push(
      client.on('storage.progress', (event) => {
        const operation = this.operations.find((o) => o.id === event.operationId);
        if (!operation) return;
        operation.done = event.done;
        operation.total = event.total;
      }),
      client.on('storage.changed', (event) => {
        if (event.what === 'isos') void this.refreshIsos();
        else if (event.what === 'pools') void this.refreshPools();
        else if (event.pool === undefined || event.pool === this.selectedPool) void this.refreshVolumes();
      }),
    );
  }

  get api() {
    return this.#client.api.storage;
  }

  get pool(): Pool | undefined {
    return this.pools.find((p) => p.name === this.selectedPool);
  }

  dispose(): void {
    for (const unsubscribe of this.#unsubscribe) unsubscribe();
  }

  async load(): Promise<void> {
    this.loading = true;
    try {
      await Promise.all([this.refreshPools(), this.refreshIsos()]);
      await this.refreshVolumes();
    } finally {
      this.loading = false;
    }
  }

  async refreshPools(): Promise<void> {
    try {
      const { pools, problems } = await this.api.listPools({});
      this.pools = pools;
      this.problems = problems;
      if (!pools.some((p) => p.name === this.selectedPool)) this.selectedPool = pools[0]?.name;
    } catch (error) {
      this.error = describeError(error);
    }
  }

  async refreshVolumes(): Promise<void> {
    const pool = this.selectedPool;
    if (pool === undefined) {
      this.volumes = [];
      return;
    }
    try {
      const volumes = await this.api.listVolumes({ pool });
      if (pool === this.selectedPool) this.volumes = volumes.sort((a, b) => a.name.localeCompare(b.name));
    } catch (error) {
      this.error = describeError(error);
    }
  }

  async refreshIsos(): Promise<void> {
    try {
      const { isos } = await this.api.listIsos({});
      this.isos = isos.sort((a, b) => a.name.localeCompare(b.name));
    } catch (error) {
      this.error = describeError(error);
    }
  }

  async selectPool(name: string): Promise<void> {
    this.selectedPool = name;
    this.volumes = [];
    await this.refreshVolumes();
  }

  /**
   * Runs one operation with a progress entry; returns its result, or undefined when it failed
   * (the error stays on the entry, where the user sees it) or was cancelled.
   */
  async run<T>(label: string, work: (operation: Operation) => Promise<T>): Promise<T | undefined> {
    const operation = new Operation(label);
    this.operations = [...this.operations, operation];
    try {
      const result = await work(operation);
      operation.finished = true;
      // A finished entry stays a moment so the full bar is seen, then goes.
      setTimeout(() => this.dismiss(operation), 3000);
      return result;
    } catch (error) {
      operation.error = operation.controller.signal.aborted ? 'Cancelled.' : describeError(error);
      return undefined;
    }
  }

  dismiss(operation: Operation): void {
    this.operations = this.operations.filter((o) => o !== operation);
  }

  /** Waits for `work`, then refreshes the pool list and volumes (also when it failed), and passes its outcome on. */
  async refreshAfter<T>(work: Promise<T> | T): Promise<T> {
    try {
      return await work;
    } finally {
      await Promise.all([this.refreshVolumes(), this.refreshPools()]);
    }
  }
}

/** The OS a detection names, or why none is claimed. */
export function osLabel(detection: OsDetectionInfo): string {
  if (detection.osId === 'unknown' || !('name' in detection)) return 'Unknown OS';
  return detection.name;
}
