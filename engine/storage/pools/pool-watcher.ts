import { watch, type FSWatcher } from 'node:fs';

export interface PoolWatchOptions {
  /** Quiet time before a burst of file events becomes one rescan. */
  debounceMs?: number;
  /** Rescan this often anyway, for file systems where fs.watch misses changes (network mounts). */
  pollMs?: number;
}

/**
 * Calls `rescan` when files in a pool folder appear, change or disappear: fs.watch for speed,
 * a slow poll as a safety net. Returns stop.
 */
export function watchFolder(folder: string, rescan: () => void, options: PoolWatchOptions = {}): () => void {
  const debounceMs = options.debounceMs ?? 250;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const schedule = () => {
    if (stopped) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      if (!stopped) rescan();
    }, debounceMs);
  };
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(folder, { persistent: false }, schedule);
    watcher.on('error', () => undefined);
  } catch {
    watcher = undefined;
  }
  const poll = setInterval(schedule, options.pollMs ?? 10_000);
  poll.unref();
  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
    clearInterval(poll);
    watcher?.close();
  };
}
