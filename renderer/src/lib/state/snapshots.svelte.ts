import { SvelteMap } from 'svelte/reactivity';
import { EngineError } from '../../../../engine/api/errors';
import type { VmSnapshot } from '../../../../engine/api/vm-api';
import { errorText, type ErrorText } from '../common/errors';
import type { VirtdeskClient } from '../api/client';
import { toasts } from './toasts.svelte';

export type SnapshotKind = VmSnapshot['kind'];
export type RevertMode = 'in-place' | 'restarted' | 'stopped';

/** A snapshot's screenshot as the view has it: fetched only once something shows it. */
export type Thumbnail = { state: 'loading' } | { state: 'ready'; url: string } | { state: 'none' } | { state: 'failed'; message: string };

/** A snapshot being taken by this window. `fraction` is null until QEMU reports progress. */
export interface TakingSnapshot {
  name: string;
  kind: SnapshotKind;
  fraction: number | null;
  cancelling: boolean;
}

/** What the page says after a revert or delete finished. */
export type SnapshotOutcome = { kind: 'reverted'; name: string; mode: RevertMode } | { kind: 'deleted'; name: string; notes: string[] };

/** Taking or reverting a memory snapshot of a big guest outlasts the client's 60 s default; the engine has its own limits. */
const LONG_CALL_MS = 30 * 60_000;
/** A snapshot another window takes is finished when its progress goes quiet this long (its record is written after the job). */
const QUIET_AFTER_PROGRESS_MS = 1500;
const THUMBNAILS_AT_ONCE = 2;
const RELOADS_AFTER_CANCEL_MS = [1000, 5000];

function pngUrl(base64: string): string {
  const bytes = Uint8Array.from(atob(base64), (char) => char.charCodeAt(0));
  return URL.createObjectURL(new Blob([bytes], { type: 'image/png' }));
}

/**
 * One VM's snapshots for its Snapshots tab: the list (reloaded when this host reports a change to
 * the VM, when a snapshot's progress ends, and when the window gets focus back — the engine has
 * no event for snapshots taken by another process), taking one with progress and cancel, revert,
 * delete, and thumbnails fetched lazily and kept as blob URLs until the model is disposed. Work
 * still running when the tab goes away finishes, and reports through a toast instead.
 */
export class VmSnapshotsModel {
  snapshots = $state<VmSnapshot[] | undefined>(undefined);
  loadError = $state<ErrorText | undefined>(undefined);
  selectedId = $state<string | undefined>(undefined);
  taking = $state<TakingSnapshot | undefined>(undefined);
  /** Progress (0–1) of a snapshot of this VM that another window of this host is taking. */
  elsewhere = $state<number | undefined>(undefined);
  /** A revert or delete running now. */
  working = $state<{ id: string; name: string; action: 'revert' | 'delete' } | undefined>(undefined);
  /** The last revert or delete that failed, with the engine's message and hint, until dismissed. */
  failure = $state<(ErrorText & { what: string }) | undefined>(undefined);
  outcome = $state<SnapshotOutcome | undefined>(undefined);
  readonly thumbnails = new SvelteMap<string, Thumbnail>();
  readonly id: string;
  readonly client: VirtdeskClient;
  readonly #cleanup: (() => void)[] = [];
  #abort: AbortController | undefined;
  #quietTimer: ReturnType<typeof setTimeout> | undefined;
  #loadSeq = 0;
  #thumbnailQueue: string[] = [];
  #thumbnailsLoading = 0;
  #disposed = false;

  constructor(client: VirtdeskClient, id: string) {
    this.client = client;
    this.id = id;
    const onFocus = () => void this.reload();
    const onVisible = () => {
      if (document.visibilityState === 'visible') void this.reload();
    };
    window.addEventListener('focus', onFocus);
    document.addEventListener('visibilitychange', onVisible);
    this.#cleanup.push(
      () => window.removeEventListener('focus', onFocus),
      () => document.removeEventListener('visibilitychange', onVisible),
      // A revert rewrites the definition (vms.changed) and may stop or restart the VM (vm.state).
      client.on('vms.changed', (event) => {
        if (event.ids.length === 0 || event.ids.includes(id)) void this.reload();
      }),
      client.on('vm.state', (event) => {
        if (event.id === id) void this.reload();
      }),
      client.on('vm.progress', (event) => {
        if (event.id !== id || event.operation !== 'snapshot') return;
        if (this.taking) {
          this.taking = { ...this.taking, fraction: event.fraction };
          return;
        }
        this.elsewhere = event.fraction;
        clearTimeout(this.#quietTimer);
        this.#quietTimer = setTimeout(() => {
          this.elsewhere = undefined;
          void this.reload();
        }, QUIET_AFTER_PROGRESS_MS);
      }),
    );
    void this.reload();
  }

  get selected(): VmSnapshot | undefined {
    return this.snapshots?.find((snapshot) => snapshot.id === this.selectedId);
  }

  get current(): VmSnapshot | undefined {
    return this.snapshots?.find((snapshot) => snapshot.current);
  }

  async reload(): Promise<void> {
    if (this.#disposed) return;
    const seq = ++this.#loadSeq;
    try {
      const snapshots = await this.client.api.vms.listSnapshots({ id: this.id });
      if (seq !== this.#loadSeq || this.#disposed) return;
      this.snapshots = snapshots;
      this.loadError = undefined;
      this.#forgetThumbnailsOfGone(snapshots);
      if (!snapshots.some((snapshot) => snapshot.id === this.selectedId)) {
        this.selectedId = (snapshots.find((snapshot) => snapshot.current) ?? snapshots[snapshots.length - 1])?.id;
      }
    } catch (error) {
      if (seq !== this.#loadSeq || this.#disposed) return;
      this.loadError = errorText(error);
    }
  }

  /** Takes a snapshot; throws the engine's error for the dialog to show beside its fields. */
  async take(request: { name: string; description: string; kind: SnapshotKind }): Promise<VmSnapshot> {
    if (this.taking) throw new EngineError('conflict', `Snapshot "${this.taking.name}" is still being taken.`, { hint: 'Wait for it to finish.' });
    const abort = new AbortController();
    this.#abort = abort;
    this.taking = { name: request.name, kind: request.kind, fraction: null, cancelling: false };
    this.outcome = undefined;
    try {
      const snapshot = await this.client.api.vms.createSnapshot({ id: this.id, ...request }, { signal: abort.signal, timeoutMs: LONG_CALL_MS });
      this.selectedId = snapshot.id;
      if (this.#disposed) toasts.success(`Took snapshot "${snapshot.name}"`);
      return snapshot;
    } catch (error) {
      const cancelled = error instanceof EngineError && error.code === 'cancelled';
      if (cancelled) this.#reloadAfterCancel();
      else if (this.#disposed) toasts.error(`Taking snapshot "${request.name}"`, error);
      throw error;
    } finally {
      this.taking = undefined;
      this.#abort = undefined;
      await this.reload();
    }
  }

  /**
   * The client gives up at once on a cancel, while the engine still cancels QEMU's job and removes
   * what it wrote; a job that had just finished is kept. Look again once that is settled.
   */
  #reloadAfterCancel(): void {
    for (const delay of RELOADS_AFTER_CANCEL_MS) {
      const timer = setTimeout(() => void this.reload(), delay);
      this.#cleanup.push(() => clearTimeout(timer));
    }
  }

  /** Asks the engine to stop the snapshot being taken (QEMU's job-cancel); nothing of it is kept. */
  cancelTaking(): void {
    if (!this.taking || !this.#abort) return;
    this.taking = { ...this.taking, cancelling: true };
    this.#abort.abort();
  }

  /** Reverts after the person confirmed that the current state goes; failures land in `failure`. */
  async revert(snapshot: VmSnapshot, options: { start: boolean }): Promise<void> {
    await this.#work(snapshot, 'revert', `Reverting to "${snapshot.name}"`, async () => {
      const result = await this.client.api.vms.revertSnapshot(
        { id: this.id, snapshot: snapshot.id, discardCurrentState: true, start: options.start },
        { timeoutMs: LONG_CALL_MS },
      );
      this.outcome = { kind: 'reverted', name: result.snapshot.name, mode: result.mode };
    });
  }

  async remove(snapshot: VmSnapshot): Promise<void> {
    await this.#work(snapshot, 'delete', `Deleting snapshot "${snapshot.name}"`, async () => {
      const result = await this.client.api.vms.deleteSnapshot({ id: this.id, snapshot: snapshot.id }, { timeoutMs: LONG_CALL_MS });
      this.outcome = { kind: 'deleted', name: snapshot.name, notes: result.notes };
      if (this.selectedId === snapshot.id) this.selectedId = snapshot.parentId ?? undefined;
    });
  }

  async #work(snapshot: VmSnapshot, action: 'revert' | 'delete', what: string, run: () => Promise<void>): Promise<void> {
    if (this.working) return;
    this.working = { id: snapshot.id, name: snapshot.name, action };
    this.failure = undefined;
    this.outcome = undefined;
    try {
      await run();
      // The tab was left meanwhile: say it where the person is now.
      // (`run` set the outcome; TypeScript still narrows it to the undefined set above.)
      const outcome = this.outcome as SnapshotOutcome | undefined;
      if (this.#disposed && outcome) toasts.success(outcome.kind === 'reverted' ? `Reverted to "${outcome.name}"` : `Deleted snapshot "${outcome.name}"`);
    } catch (error) {
      this.failure = { what, ...errorText(error) };
      if (this.#disposed) toasts.error(what, error);
    } finally {
      this.working = undefined;
      await this.reload();
    }
  }

  dismissFailure(): void {
    this.failure = undefined;
  }

  dismissOutcome(): void {
    this.outcome = undefined;
  }

  /** Fetches a snapshot's screenshot once something shows it (at most a few at a time). */
  wantThumbnail(snapshot: VmSnapshot): void {
    if (this.thumbnails.has(snapshot.id)) return;
    if (!snapshot.hasThumbnail) {
      this.thumbnails.set(snapshot.id, { state: 'none' });
      return;
    }
    this.thumbnails.set(snapshot.id, { state: 'loading' });
    this.#thumbnailQueue.push(snapshot.id);
    this.#pumpThumbnails();
  }

  #pumpThumbnails(): void {
    while (this.#thumbnailsLoading < THUMBNAILS_AT_ONCE && this.#thumbnailQueue.length > 0) {
      const snapshotId = this.#thumbnailQueue.shift()!;
      this.#thumbnailsLoading++;
      this.client.api.vms
        .snapshotThumbnail({ id: this.id, snapshot: snapshotId })
        .then(({ pngBase64 }) => {
          if (this.#disposed || !this.thumbnails.has(snapshotId)) return;
          this.thumbnails.set(snapshotId, pngBase64 === null ? { state: 'none' } : { state: 'ready', url: pngUrl(pngBase64) });
        })
        .catch((error: unknown) => {
          if (!this.#disposed && this.thumbnails.has(snapshotId)) this.thumbnails.set(snapshotId, { state: 'failed', message: errorText(error).message });
        })
        .finally(() => {
          this.#thumbnailsLoading--;
          if (!this.#disposed) this.#pumpThumbnails();
        });
    }
  }

  #forgetThumbnailsOfGone(snapshots: readonly VmSnapshot[]): void {
    const ids = snapshots.map((snapshot) => snapshot.id);
    for (const [snapshotId, thumbnail] of this.thumbnails) {
      if (ids.includes(snapshotId)) continue;
      if (thumbnail.state === 'ready') URL.revokeObjectURL(thumbnail.url);
      this.thumbnails.delete(snapshotId);
    }
  }

  dispose(): void {
    this.#disposed = true;
    clearTimeout(this.#quietTimer);
    for (const cleanup of this.#cleanup.splice(0)) cleanup();
    for (const thumbnail of this.thumbnails.values()) if (thumbnail.state === 'ready') URL.revokeObjectURL(thumbnail.url);
    this.thumbnails.clear();
    this.#thumbnailQueue = [];
  }
}
