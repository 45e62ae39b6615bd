import { mkdirSync, readdirSync, statSync, watch, type FSWatcher } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isDocumentId } from './document-id';
import { signatureOf } from './file-signature';

export interface WatchOptions {
  /** Period of the mtime scan that catches what fs.watch misses. Default 500 ms. */
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
 * folder gives speed; a periodic scan of (ino, mtime, size) gives certainty. Returns the stop function.
 */
export function watchDocuments(root: string, fileName: string, onChange: (ids: string[]) => void, options: WatchOptions = {}): () => void {
  const pollIntervalMs = options.pollIntervalMs ?? 500;
  const debounceMs = options.debounceMs ?? 25;
  const useFsWatch = options.useFsWatch ?? true;
  const report = options.onError ?? (() => undefined);
  const sideFiles = options.sideFiles ?? [];
  const interesting = new Set([fileName, ...sideFiles.map((path) => path.split('/')[0]!)]);

  mkdirSync(root, { recursive: true });
  let known = scanSync(root, fileName, sideFiles).documents;
  let stopped = false;
  let scanning = false;
  let rescan = false;
  let debounce: NodeJS.Timeout | undefined;
  const folderWatchers = new Map<string, FSWatcher>();
  let rootWatcher: FSWatcher | undefined;

  const scan = async (): Promise<void> => {
    if (stopped) return;
    if (scanning) {
      rescan = true;
      return;
    }
    scanning = true;
    try {
      do {
        rescan = false;
        const next = await scanAsync(root, fileName, sideFiles);
        if (stopped) return;
        const changed = diff(known, next.documents);
        known = next.documents;
        // A document written into a new folder after this scan stat'ed it but before its watcher
        // existed would wait for the poll; one more scan closes that gap.
        if (useFsWatch && syncFolderWatchers(next.folders) > 0) schedule();
        if (changed.length > 0) {
          try {
            onChange(changed);
          } catch (error) {
            report(error);
          }
        }
      } while (rescan && !stopped);
    } catch (error) {
      report(error);
    } finally {
      scanning = false;
    }
  };

  const schedule = (): void => {
    if (stopped || debounce) return;
    debounce = setTimeout(() => {
      debounce = undefined;
      void scan();
    }, debounceMs);
  };

  const safeWatch = (path: string, listener: (filename: string | null) => void): FSWatcher | undefined => {
    try {
      const watcher = watch(path, { persistent: false }, (_event, filename) => listener(filename === null ? null : String(filename)));
      // A watched folder that is deleted ends its watcher with an error; the scan notices the deletion.
      watcher.on('error', () => {
        watcher.close();
        schedule();
      });
      return watcher;
    } catch {
      return undefined;
    }
  };

  /** Returns how many folders got a new watcher. */
  function syncFolderWatchers(ids: string[]): number {
    let added = 0;
    const wanted = new Set(ids);
    for (const [id, watcher] of folderWatchers) {
      if (!wanted.has(id)) {
        watcher.close();
        folderWatchers.delete(id);
      }
    }
    for (const id of wanted) {
      if (folderWatchers.has(id)) continue;
      const watcher = safeWatch(join(root, id), (filename) => {
        if (filename === null || interesting.has(filename)) schedule();
      });
      if (watcher) {
        folderWatchers.set(id, watcher);
        added += 1;
      }
    }
    return added;
  }

  if (useFsWatch) {
    rootWatcher = safeWatch(root, (filename) => {
      if (filename === null || isDocumentId(filename)) schedule();
    });
    syncFolderWatchers(listIdsSync(root));
  }
  const poll = setInterval(() => void scan(), pollIntervalMs);

  return () => {
    stopped = true;
    clearInterval(poll);
    if (debounce) clearTimeout(debounce);
    rootWatcher?.close();
    for (const watcher of folderWatchers.values()) watcher.close();
    folderWatchers.clear();
  };
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

/** Folders are every id-named folder (watched even before their document lands); documents those that have one. */
interface Scan {
  folders: string[];
  documents: Map<string, Signature>;
}

function scanSync(root: string, fileName: string, sideFiles: readonly string[]): Scan {
  const folders = listIdsSync(root);
  const documents = new Map<string, Signature>();
  const statOrNone = (path: string) => {
    try {
      return signatureOf(statSync(path));
    } catch {
      return '-';
    }
  };
  for (const id of folders) {
    const main = statOrNone(join(root, id, fileName));
    // no document in this folder (yet, or any more)
    if (main === '-') continue;
    documents.set(id, [main, ...sideFiles.map((side) => statOrNone(join(root, id, side)))].join('|'));
  }
  return { folders, documents };
}

async function scanAsync(root: string, fileName: string, sideFiles: readonly string[]): Promise<Scan> {
  let folders: string[];
  try {
    folders = (await readdir(root)).filter(isDocumentId);
  } catch {
    folders = [];
  }
  const documents = new Map<string, Signature>();
  const statOrNone = (path: string) => stat(path).then(signatureOf, () => '-');
  await Promise.all(
    folders.map(async (id) => {
      const main = await statOrNone(join(root, id, fileName));
      // no document in this folder (yet, or any more)
      if (main === '-') return;
      const sides = await Promise.all(sideFiles.map((side) => statOrNone(join(root, id, side))));
      documents.set(id, [main, ...sides].join('|'));
    }),
  );
  return { folders, documents };
}
