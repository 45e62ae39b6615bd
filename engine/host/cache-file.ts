import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../store/atomic-write';

/** Bump when a cached shape changes: old files are then ignored and re-probed. */
export const HOST_CACHE_VERSION = 1;

export function hostCacheDir(home: string): string {
  return join(home, 'cache');
}

/** `<home>/cache/<kind>-<hash of key>.json`: one file per binary (and whatever else keys it). */
export function hostCachePath(home: string, kind: string, key: string): string {
  return join(hostCacheDir(home), `${kind}-${createHash('sha256').update(key).digest('hex').slice(0, 16)}.json`);
}

/** The cached value if the file exists, parses, has our version and `matches` accepts it. */
export async function readHostCache<T>(path: string, matches: (value: T) => boolean): Promise<T | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const parsed = JSON.parse(text) as { cacheVersion?: unknown; value?: unknown };
    if (parsed.cacheVersion !== HOST_CACHE_VERSION || parsed.value === undefined) return undefined;
    const value = parsed.value as T;
    return matches(value) ? value : undefined;
  } catch {
    // A torn or hand-edited cache is just a miss.
    return undefined;
  }
}

/** Written like every other file of ours (engine/store): a random temp name, fsync, rename. */
export async function writeHostCache(path: string, value: unknown): Promise<void> {
  await mkdir(join(path, '..'), { recursive: true });
  // Two VMs starting in the same millisecond used to race here on a pid+time temp name.
  await writeFileAtomic(path, `${JSON.stringify({ cacheVersion: HOST_CACHE_VERSION, value }, null, 1)}\n`, 0o644);
}
