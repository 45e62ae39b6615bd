import type { EngineError } from '../api/errors';
import { isDocumentId } from './document-id';
import { notFoundError, pickByName, sortByName, type DocumentStore, type ListResult, type StoredDocument, type StoreProblem } from './document-store';
import type { FileSignature } from './file-signature';
import { onLocalChange, type DocumentReading } from './local-changes';
import type { WatchOptions } from './store-watcher';

/**
 * How one document moved: `changed` (appeared or has a new version), `removed` (gone, or no longer
 * loads: see `problemOf`), `unchanged` (as cached; the watcher saw its folder move, e.g. a side
 * file, or reported a write this cache already had).
 */
export interface CacheChange {
  id: string;
  document: 'changed' | 'removed' | 'unchanged';
}

export interface DocumentCache<T extends StoredDocument> {
  /** Every document that loads (shared and frozen: copy before changing), sorted by name, and the problems. */
  list(): ListResult<T>;
  /** The documents alone, as `list().items`, without building the problem list. */
  items(): readonly T[];
  get(id: string): T | undefined;
  /** Why document `id` does not load (the error the store's `get` throws), if it does not. */
  problemOf(id: string): EngineError | undefined;
  /** The ids whose document does not load. */
  problemIds(): string[];
  /** By id or name, like the store's `resolve`: not-found, the file's invalid-state, or a name conflict. */
  resolve(ref: string): T;
  /** Called with what changed, after the cache took it in. Returns the unsubscribe function. */
  onChange(listener: (changes: CacheChange[]) => void): () => void;
  /** Re-checks `ids` (default: every folder) now: stat, and re-read those whose file changed. */
  refresh(ids?: readonly string[]): Promise<CacheChange[]>;
  /** Stops the watcher and the local listener. Idempotent. */
  close(): void;
}

export type DocumentCacheOptions = WatchOptions;

interface Entry<T> {
  signature: FileSignature;
  doc: T;
}

/**
 * The documents of a store kept in memory and current, for a host process that lists them often
 * (libvirt keeps its domain objects in memory the same way). Kept current by:
 * - writes of this process (any store instance on the same root), taken in synchronously while the
 *   writer holds the lock, so a call that follows a write sees it;
 * - the store's watcher for every other writer (the CLI, hand edits): only the documents whose
 *   file signature changed are re-read and re-parsed;
 * - a file that stops loading is dropped and kept as a problem, never served in its old form.
 * Opening loads everything once; `close` releases the watcher.
 */
export async function openDocumentCache<T extends StoredDocument>(store: DocumentStore<T>, options: DocumentCacheOptions = {}): Promise<DocumentCache<T>> {
  const entries = new Map<string, Entry<T>>();
  const problems = new Map<string, { signature: FileSignature | undefined; error: EngineError }>();
  /** Bumped on every change of an id, so a slow read that started before it is not applied over it. */
  const generations = new Map<string, number>();
  const listeners = new Set<(changes: CacheChange[]) => void>();
  let sorted: T[] | undefined;
  let closed = false;
  const report = options.onError ?? (() => undefined);

  const generation = (id: string) => generations.get(id) ?? 0;
  const bump = (id: string) => {
    generations.set(id, generation(id) + 1);
    sorted = undefined;
  };

  function apply(id: string, reading: DocumentReading<T> | { status: 'unchanged'; signature: FileSignature }): CacheChange | undefined {
    const had = entries.has(id) || problems.has(id);
    switch (reading.status) {
      case 'unchanged':
        return had ? { id, document: 'unchanged' } : undefined;
      case 'ok':
        if (entries.get(id)?.signature === reading.signature) return { id, document: 'unchanged' };
        entries.set(id, { signature: reading.signature, doc: reading.doc });
        problems.delete(id);
        bump(id);
        return { id, document: 'changed' };
      case 'problem': {
        const known = problems.get(id);
        if (known && reading.signature !== undefined && known.signature === reading.signature && !entries.has(id)) return { id, document: 'unchanged' };
        entries.delete(id);
        problems.set(id, { signature: reading.signature, error: reading.error });
        bump(id);
        return { id, document: 'removed' };
      }
      case 'missing':
        if (!had) return undefined;
        entries.delete(id);
        problems.delete(id);
        bump(id);
        return { id, document: 'removed' };
    }
  }

  function notify(changes: CacheChange[]): void {
    if (closed || changes.length === 0) return;
    for (const listener of [...listeners]) {
      try {
        listener(changes);
      } catch (error) {
        report(error);
      }
    }
  }

  async function refresh(ids?: readonly string[]): Promise<CacheChange[]> {
    if (closed) return [];
    const targets = ids ?? [...new Set([...(await store.ids()), ...entries.keys(), ...problems.keys()])];
    const changes = await Promise.all(
      targets.filter(isDocumentId).map(async (id) => {
        for (;;) {
          const before = generation(id);
          const reading = await store.read(id, entries.get(id)?.signature);
          if (closed) return undefined;
          if (generation(id) === before) return apply(id, reading);
          // Something else (a write of this process, a concurrent refresh) changed the entry while
          // this read ran; what this read saw may be older, so look again.
        }
      }),
    );
    return changes.filter((change): change is CacheChange => change !== undefined);
  }

  const stopLocal = onLocalChange<T>(store.root, (change) => {
    if (closed) return;
    const applied = apply(change.id, change.reading);
    if (applied && applied.document !== 'unchanged') notify([applied]);
  });
  let stopWatching: () => void = () => undefined;
  try {
    stopWatching = store.watch((ids) => {
      void refresh(ids).then(notify, report);
    }, options);
    await refresh();
  } catch (error) {
    stopLocal();
    stopWatching();
    throw error;
  }

  function items(): readonly T[] {
    sorted ??= sortByName([...entries.values()].map((entry) => entry.doc));
    return sorted;
  }

  return {
    list() {
      const found: StoreProblem[] = [...problems.values()].map(({ error }) => ({ file: String(error.details?.file), message: error.message }));
      return { items: [...items()], problems: found.sort((a, b) => (a.file < b.file ? -1 : 1)) };
    },
    items,
    get: (id) => entries.get(id)?.doc,
    problemOf: (id) => problems.get(id)?.error,
    problemIds: () => [...problems.keys()],
    resolve(ref) {
      const asId = ref.toLowerCase();
      if (isDocumentId(asId)) {
        const entry = entries.get(asId);
        if (entry) return entry.doc;
        const problem = problems.get(asId);
        if (problem) throw problem.error;
      }
      const byName = pickByName(items(), ref, store.label);
      if (byName) return byName;
      throw notFoundError(store.label, store.kind, ref);
    },
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    refresh: async (ids) => {
      const changes = await refresh(ids);
      notify(changes);
      return changes;
    },
    close() {
      if (closed) return;
      closed = true;
      stopLocal();
      stopWatching();
      listeners.clear();
    },
  };
}
