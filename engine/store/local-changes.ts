import { resolve } from 'node:path';
import type { EngineError } from '../api/errors';
import type { FileSignature } from './file-signature';

/** What one document file holds now, as a reader would load it. */
export type DocumentReading<T> =
  | { status: 'missing' }
  | { status: 'ok'; doc: T; signature: FileSignature }
  | { status: 'problem'; error: EngineError; signature: FileSignature | undefined };

export interface LocalChange<T> {
  id: string;
  reading: DocumentReading<T>;
}

type Listener = (change: LocalChange<unknown>) => void;

const listeners = new Map<string, Set<Listener>>();

/**
 * Writes by any store instance of this process, told synchronously to every listener of the same
 * root while the writer still holds the store's lock. Caches use it to stay exact under their own
 * process's writes (a watcher only reports them a few milliseconds later); other processes' writes
 * still arrive through the watcher.
 */
export function onLocalChange<T>(root: string, listener: (change: LocalChange<T>) => void): () => void {
  const key = resolve(root);
  let set = listeners.get(key);
  if (!set) listeners.set(key, (set = new Set()));
  const entry = listener as Listener;
  set.add(entry);
  return () => {
    set.delete(entry);
    if (set.size === 0 && listeners.get(key) === set) listeners.delete(key);
  };
}

export function publishLocalChange<T>(root: string, change: LocalChange<T>): void {
  const set = listeners.get(resolve(root));
  if (!set) return;
  for (const listener of [...set]) {
    try {
      listener(change as LocalChange<unknown>);
    } catch {
      // A listener's trouble must not fail the write that already happened.
    }
  }
}

/** How many listeners a root has (tests check that caches let go of theirs). */
export function localChangeListenerCount(root: string): number {
  return listeners.get(resolve(root))?.size ?? 0;
}
