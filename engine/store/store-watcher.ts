import { mkdirSync, readdirSync, statSync, watch, type FSWatcher } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isDocumentId } from './document-id';
import { signatureOf } from './file-signature';

export interface WatchOptions {
  /** Period of the full mtime scan that catches what fs.watch misses. Default 500 ms. */
  pollIntervalMs?: number;
  /** Delay between an fs.watch event and the scan it triggers, to fold bursts. Default 25 ms. */
  debounceMs?: number;
  /** Set false to rely on polling alone (tests use it to prove the fallback). Default true. */
  useFsWatch?: boolean;
  /** Called when the callback throws or a scan fails; the watcher keeps going. */
  onError?: (error: unknown) => void;
  /**
   * Other files in each document's folder whose changes count as changes of the document (paths
   * relative to the folder, e.g. 'template.json', 'saved/state.json'). fs.watch sees changes of
   * their top-level entry; changes deeper down are found by the polling scan.
   */
  sideFiles?: readonly string[];
}

/** Identity of a document file and its side files: an atomic write renames a new inode in, so ino changes every time. */
type Signature = string;

/**
 * Calls `onChange` with the ids whose document appeared, changed or disappeared, whoever wrote
 * it (this process, the CLI, another app instance). fs.watch on the root and on each document
 * folder gives speed: an event re-checks only the folder it names. A periodic scan of every
 * folder's (ino, mtime, size) gives certainty. Returns the stop function.
 */
export function watchDocuments(root: string, fileName: string, onChange: (ids: string[]) => void, options: WatchOptions = {}): () => void {
  const pollIntervalMs = options.pollIntervalMs ?? 500;
  const debounceMs = options.debounceMs ?? 25;
  const useFsWatch = options.useFsWatch ?? true;
  const report = options.onError ?? (() => undefined);
  const sideFiles = options.sideFiles ?? [];
  const interesting = new Set([fileName, ...sideFiles.map(topEntry)]);

  mkdirSync(root, { recursive: true });
  let known = scanSync(root, fileName, sideFiles);
  let stopped = false;
  let scanning = false;
  /** What the next scan looks at: the folders fs.watch named, or everything. */
  let pending: Set<string> | 'all' = new Set();
  let debounce: NodeJS.Timeout | undefined;
  const folderWatchers = new Map<string, FSWatcher>();
  let rootWatcher: FSWatcher | undefined;

  const scan = async (): Promise<void> => {
    if (stopped || scanning) return;
    scanning = true;
    try {
      while (!stopped && (pending === 'all' || pending.size > 0)) {
        const target = pending;
        pending = new Set();
        const changed = target === 'all' ? await scanAll() : await scanSome([...target]);
        if (stopped) return;
        if (changed.length > 0) {
          try {
            onChange(changed);
          } catch (error) {
            report(error);
          }
        }
      }
    } catch (error) {
      report(error);
    } finally {
      scanning = false;
    }
  };

  async function scanAll(): Promise<string[]> {
    const folders = await listIds(root);
    const next = new Map<string, Signature>();
    await Promise.all(
      folders.map(async (id) => {
        const signature = await signatureAsync(join(root, id), fileName, sideFiles);
        if (signature !== undefined) next.set(id, signature);
      }),
    );
    if (stopped) return [];
    const changed = diff(known, next);
    known = next;
    if (useFsWatch) syncFolderWatchers(folders);
    return changed;
  }

  async function scanSome(ids: string[]): Promise<string[]> {
    const seen = await Promise.all(ids.map(async (id) => ({ id, signature: await signatureAsync(join(root, id), fileName, sideFiles) })));
    if (stopped) return [];
    const changed: string[] = [];
    for (const { id, signature } of seen) {
      if (known.get(id) === signature) continue;
      if (signature === undefined) known.delete(id);
      else known.set(id, signature);
      changed.push(id);
    }
    if (useFsWatch) for (const id of ids) ensureFolderWatcher(id);
    return changed;
  }

  const schedule = (target: string | 'all'): void => {
    if (stopped) return;
    if (target === 'all') pending = 'all';
    else if (pending !== 'all') pending.add(target);
    if (debounce) return;
    debounce = setTimeout(() => {
      debounce = undefined;
      void scan();
    }, debounceMs);
  };

  const safeWatch = (path: string, listener: (filename: string | null) => void, onGone: () => void): FSWatcher | undefined => {
    try {
      const watcher = watch(path, { persistent: false }, (_event, filename) => listener(filename === null ? null : String(filename)));
      // A watched folder that is deleted ends its watcher with an error; the scan notices the deletion.
      watcher.on('error', () => {
        watcher.close();
        onGone();
      });
      return watcher;
    } catch {
      return undefined;
    }
  };

  function watchFolder(id: string): boolean {
    const watcher = safeWatch(
      join(root, id),
      (filename) => {
        if (filename === null || interesting.has(filename)) schedule(id);
      },
      () => {
        if (folderWatchers.get(id) === watcher) folderWatchers.delete(id);
        schedule(id);
      },
    );
    if (!watcher) return false;
    folderWatchers.set(id, watcher);
    return true;
  }

  /** Watches the folder of `id` while it exists; a new watcher gets one more look, for a document written before it was in place. */
  function ensureFolderWatcher(id: string): void {
    if (folderWatchers.has(id)) return;
    if (watchFolder(id)) schedule(id);
  }

  function syncFolderWatchers(ids: string[]): void {
    const wanted = new Set(ids);
    for (const [id, watcher] of folderWatchers) {
      if (!wanted.has(id)) {
        watcher.close();
        folderWatchers.delete(id);
      }
    }
    for (const id of wanted) ensureFolderWatcher(id);
  }

  if (useFsWatch) {
    rootWatcher = safeWatch(
      root,
      (filename) => {
        // A folder appeared, went or was renamed (a delete renames it to `.deleted-<id>-…` first).
        if (filename === null) schedule('all');
        else if (isDocumentId(filename)) schedule(filename);
      },
      () => schedule('all'),
    );
    for (const id of listIdsSync(root)) watchFolder(id);
  }
  const poll = setInterval(() => {
    pending = 'all';
    void scan();
  }, pollIntervalMs);

  return () => {
    stopped = true;
    clearInterval(poll);
    if (debounce) clearTimeout(debounce);
    rootWatcher?.close();
    for (const watcher of folderWatchers.values()) watcher.close();
    folderWatchers.clear();
  };
}

function topEntry(path: string): string {
  return path.split('/')[0]!;
}

function diff(before: Map<string, Signature>, after: Map<string, Signature>): string[] {
  const changed: string[] = [];
  for (const [id, signature] of after) if (before.get(id) !== signature) changed.push(id);
  for (const id of before.keys()) if (!after.has(id)) changed.push(id);
  return changed;
}

function listIdsSync(root: string): string[] {
  try {
    return readdirSync(root).filter(isDocumentId);
  } catch {
    return [];
  }
}

async function listIds(root: string): Promise<string[]> {
  try {
    return (await readdir(root)).filter(isDocumentId);
  } catch {
    return [];
  }
}

/**
 * The signature of a folder's document and side files, or undefined when it has no document (yet,
 * or any more). Side files are looked up in one readdir of the folder, so the usual case (no such
 * file) costs no failed stat: a thrown ENOENT costs more than the stat itself.
 */
async function signatureAsync(folder: string, fileName: string, sideFiles: readonly string[]): Promise<Signature | undefined> {
  let main: string;
  try {
    main = signatureOf(await stat(join(folder, fileName)));
  } catch {
    return undefined;
  }
  if (sideFiles.length === 0) return main;
  const entries = new Set(await readdir(folder).catch(() => [] as string[]));
  const sides = await Promise.all(sideFiles.map((side) => (entries.has(topEntry(side)) ? stat(join(folder, side)).then(signatureOf, () => '-') : '-')));
  return [main, ...sides].join('|');
}

function scanSync(root: string, fileName: string, sideFiles: readonly string[]): Map<string, Signature> {
  const documents = new Map<string, Signature>();
  const statOrNone = (path: string) => {
    try {
      const info = statSync(path, { throwIfNoEntry: false });
      return info ? signatureOf(info) : '-';
    } catch {
      return '-';
    }
  };
  for (const id of listIdsSync(root)) {
    const main = statOrNone(join(root, id, fileName));
    // no document in this folder (yet, or any more)
    if (main === '-') continue;
    documents.set(id, [main, ...sideFiles.map((side) => statOrNone(join(root, id, side)))].join('|'));
  }
  return documents;
}
