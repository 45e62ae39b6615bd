import type { VmSummary } from '../../api/vm-api';
import { openDocumentCache, type CacheChange, type DocumentCache, type WatchOptions } from '../../store';
import type { VmDefinition } from '../../model';
import { isTemplate } from '../ops/clone/template';
import { savedAt } from '../ops/save-restore/saved-state';
import type { VmStore } from './store';

/** What a VM's list entry says that is neither its definition nor its live state. */
export interface VmExtras {
  savedAt: string | null;
  template: boolean;
}

/** A list entry without its live state (the manager's state machines add that). */
export type VmSummaryBase = Readonly<Omit<Required<VmSummary>, 'state' | 'stateReason' | 'stateSince'>>;

/**
 * Files in a VM's folder, besides vm.json, that change its list entry: the template mark and the
 * saved state's record (see clone/template.ts and save-restore/saved-state.ts).
 */
export const VM_SIDE_FILES = ['template.json', 'saved/state.json'] as const;

/**
 * fs.watch reports other processes' writes within milliseconds; the full scan behind it is a
 * safety net (network file systems, a saved state's record written inside `saved/`), and with
 * hundreds of VMs each scan is hundreds of stats, so it runs every 2 s rather than the store's 0.5 s.
 */
const SAFETY_POLL_MS = 2000;

export interface VmCatalogOptions {
  /** Where a definition that stops loading is reported; default stderr. */
  log?: (line: string) => void;
  /** Passed to the store's watcher (tests shorten or lengthen its timings). */
  watch?: WatchOptions;
}

/**
 * The VM definitions of a host process, parsed and validated once and kept in memory, with the
 * part of each VM's list entry that comes from files beside vm.json (saved state, template mark).
 * Fresh through the document cache (this process's writes at once, other processes' through the
 * watcher) and through `refreshExtras` after operations that change those files. `list` of the
 * VmManager answers from here without touching the disk.
 */
export class VmCatalog {
  readonly #cache: DocumentCache<VmDefinition>;
  readonly #home: string;
  readonly #log: (line: string) => void;
  readonly #extras = new Map<string, VmExtras>();
  readonly #bases = new Map<string, VmSummaryBase>();
  readonly #listeners = new Set<(ids: string[]) => void>();
  readonly #reported = new Map<string, string>();
  #sortedBases: VmSummaryBase[] | undefined;
  #closed = false;

  private constructor(cache: DocumentCache<VmDefinition>, home: string, log: (line: string) => void) {
    this.#cache = cache;
    this.#home = home;
    this.#log = log;
  }

  static async open(store: VmStore, home: string, options: VmCatalogOptions = {}): Promise<VmCatalog> {
    const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
    const cache = await openDocumentCache(store, {
      pollIntervalMs: SAFETY_POLL_MS,
      ...options.watch,
      sideFiles: VM_SIDE_FILES,
      onError: (error) => log(`[vms] watching ${store.root}: ${(error as Error).message}`),
    });
    const catalog = new VmCatalog(cache, home, log);
    // Listening first: a change while the extras load below is not lost (and its newer extras win).
    cache.onChange((changes) => catalog.#onCacheChange(changes));
    try {
      await Promise.all(
        cache.items().map(async (def) => {
          const extras = await catalog.#readExtras(def.id);
          if (!catalog.#extras.has(def.id)) catalog.#extras.set(def.id, extras);
        }),
      );
    } catch (error) {
      catalog.close();
      throw error;
    }
    catalog.#reportProblems(cache.problemIds());
    return catalog;
  }

  /** Every definition that loads, sorted by name (shared and frozen: copy before changing). */
  definitions(): readonly VmDefinition[] {
    return this.#cache.items();
  }

  get(id: string): VmDefinition | undefined {
    return this.#cache.get(id);
  }

  /** By id or name; throws like the store's resolve (not-found, the file's problem, a name conflict). */
  resolve(ref: string): VmDefinition {
    return this.#cache.resolve(ref);
  }

  /** The list entries without live state, in the order of `definitions`. */
  summaries(): readonly VmSummaryBase[] {
    this.#sortedBases ??= this.definitions().map((def) => this.#base(def));
    return this.#sortedBases;
  }

  summaryOf(id: string): VmSummaryBase | undefined {
    const def = this.#cache.get(id);
    return def && this.#base(def);
  }

  /** Called with the ids whose definition or list entry changed (appeared, changed, went). */
  onChange(listener: (ids: string[]) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Re-reads the saved-state and template files of VM `id` (after an operation that may have changed them). */
  async refreshExtras(id: string): Promise<void> {
    if (this.#closed || !this.#cache.get(id)) return;
    this.noteExtras(id, await this.#readExtras(id));
  }

  /** Takes in extras someone just read from disk; tells listeners when they differ from the known ones. */
  noteExtras(id: string, extras: VmExtras): void {
    if (this.#closed || !this.#cache.get(id)) return;
    const known = this.#extras.get(id);
    if (known && known.savedAt === extras.savedAt && known.template === extras.template) return;
    this.#extras.set(id, extras);
    this.#forget(id);
    this.#emit([id]);
  }

  close(): void {
    this.#closed = true;
    this.#cache.close();
    this.#listeners.clear();
  }

  #base(def: VmDefinition): VmSummaryBase {
    let base = this.#bases.get(def.id);
    if (!base) {
      const extras = this.#extras.get(def.id) ?? { savedAt: null, template: false };
      base = Object.freeze({
        id: def.id,
        name: def.name,
        description: def.description,
        tags: def.tags,
        osId: def.osId,
        vcpus: def.cpu.vcpus,
        memoryMiB: def.memory.maximumMiB,
        autostart: def.autostart,
        createdAt: def.createdAt,
        savedAt: extras.savedAt,
        template: extras.template,
      });
      this.#bases.set(def.id, base);
    }
    return base;
  }

  #forget(id: string): void {
    this.#bases.delete(id);
    this.#sortedBases = undefined;
  }

  async #readExtras(id: string): Promise<VmExtras> {
    const [saved, template] = await Promise.all([savedAt(this.#home, id), isTemplate(this.#home, id)]);
    return { savedAt: saved, template };
  }

  #onCacheChange(changes: CacheChange[]): void {
    if (this.#closed) return;
    const now: string[] = [];
    for (const change of changes) {
      if (change.document === 'unchanged') {
        // The folder moved but not vm.json: the saved state or template mark may have.
        void this.refreshExtras(change.id).catch(() => undefined);
        continue;
      }
      this.#forget(change.id);
      if (change.document === 'removed') this.#extras.delete(change.id);
      else if (!this.#extras.has(change.id)) {
        // A new VM: a fresh folder has neither file; look anyway, the folder may be older than its vm.json.
        this.#extras.set(change.id, { savedAt: null, template: false });
        void this.refreshExtras(change.id).catch(() => undefined);
      }
      now.push(change.id);
    }
    this.#reportProblems(now);
    this.#emit(now);
  }

  #emit(ids: string[]): void {
    if (this.#closed || ids.length === 0) return;
    for (const listener of [...this.#listeners]) {
      try {
        listener(ids);
      } catch (error) {
        this.#log(`[vms] a listener of definition changes failed: ${(error as Error).message}`);
      }
    }
  }

  /** A definition that stops loading disappears from the list; say why in the host's log, once per message. */
  #reportProblems(ids: readonly string[]): void {
    for (const id of ids) {
      const problem = this.#cache.problemOf(id);
      if (!problem) {
        this.#reported.delete(id);
        continue;
      }
      if (this.#reported.get(id) === problem.message) continue;
      this.#reported.set(id, problem.message);
      this.#log(`[vms] ${problem.message}${problem.hint ? ` (${problem.hint})` : ''}`);
    }
  }
}
