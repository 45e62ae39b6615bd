import { lstat, readdir, readlink, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { EngineError } from '../../api/errors';
import type { PoolDefinition } from '../pools/pool-registry';
import { volumePath } from '../pools/names';
import { imageInfo } from '../qemu-img/info';
import { canonicalPath } from '../usage';
import type { StorageContext, Volume } from './types';

/** Options that make qemu-img calls use the context's environment. */
export function qemuImgEnv(ctx: StorageContext): { env?: NodeJS.ProcessEnv } {
  return ctx.env ? { env: ctx.env } : {};
}

async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index] as T);
    }
  });
  await Promise.all(workers);
  return results;
}

async function readVolume(ctx: StorageContext, pool: PoolDefinition, name: string): Promise<Volume> {
  const path = join(pool.path, name);
  const volume: Volume = { pool: pool.name, name, path, format: 'unknown', virtualSize: 0, allocation: 0, dirty: false, corrupt: false, usedBy: [], baseOf: [] };
  const link = await lstat(path);
  if (link.isSymbolicLink()) volume.referenceTo = resolve(pool.path, await readlink(path));
  try {
    const info = await imageInfo(path, qemuImgEnv(ctx));
    volume.format = info.format;
    volume.virtualSize = info.virtualSize;
    volume.allocation = info.actualSize;
    volume.dirty = info.dirty;
    volume.corrupt = info.corrupt;
    if (info.backingFile !== undefined) volume.backingFile = info.backingFile;
    if (info.backingPath !== undefined) volume.backingPath = info.backingPath;
    if (info.backingFormat !== undefined) volume.backingFormat = info.backingFormat;
  } catch (error) {
    volume.problem = error instanceof EngineError ? error.message : String(error);
  }
  volume.usedBy = await ctx.usage(await canonicalPath(path));
  return volume;
}

/** Files directly in the pool folder; hidden files (Virtdesk's temporaries, partial downloads) and folders are skipped. */
async function volumeNames(pool: PoolDefinition): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(pool.path, { withFileTypes: true });
  } catch (error) {
    throw new EngineError('unavailable', `The folder of pool "${pool.name}" (${pool.path}) cannot be read: ${(error as Error).message}`, {
      hint: 'Mount or re-create the folder, or remove the pool with `virtdesk pool remove`.',
    });
  }
  const names: string[] = [];
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    if (entry.isFile()) names.push(entry.name);
    else if (entry.isSymbolicLink()) {
      const target = await stat(join(pool.path, entry.name)).catch(() => undefined);
      if (!target || target.isFile()) names.push(entry.name);
    }
  }
  return names.sort();
}

function linkBases(volumes: Volume[]): void {
  for (const volume of volumes) {
    if (!volume.backingPath) continue;
    for (const base of volumes) if (base.path === volume.backingPath || base.referenceTo === volume.backingPath) base.baseOf.push(volume.path);
  }
}

/** Every volume of a pool with its format, sizes, backing file and users. */
export async function listVolumes(ctx: StorageContext, poolName: string): Promise<Volume[]> {
  const pool = await ctx.pools.get(poolName);
  const volumes = await mapLimited(await volumeNames(pool), 4, (name) => readVolume(ctx, pool, name));
  // A base image may sit in another pool than its clones, so link across every pool.
  const { pools } = await ctx.pools.list();
  const others: Volume[] = [];
  for (const other of pools) {
    if (other.name === pool.name) continue;
    const names = await volumeNames(other).catch(() => []);
    for (const name of names) {
      const path = join(other.path, name);
      const info = await imageInfo(path, qemuImgEnv(ctx)).catch(() => undefined);
      if (info?.backingPath) others.push({ pool: other.name, name, path, format: info.format, virtualSize: 0, allocation: 0, dirty: false, corrupt: false, usedBy: [], baseOf: [], backingPath: info.backingPath });
    }
  }
  linkBases([...volumes, ...others]);
  return volumes;
}

/**
 * One volume, or not-found naming the pool. `withBases` also finds the linked clones built on it
 * (a scan of every pool), which only the operations that could break them need.
 */
export async function getVolume(ctx: StorageContext, poolName: string, name: string, options: { withBases?: boolean } = {}): Promise<Volume> {
  const pool = await ctx.pools.get(poolName);
  const path = volumePath(pool.path, name);
  const exists = await lstat(path).catch(() => undefined);
  if (!exists) {
    throw new EngineError('not-found', `There is no image "${name}" in pool "${poolName}".`, { hint: `List the pool with \`virtdesk image list --pool ${poolName}\`.` });
  }
  if (!exists.isFile() && !exists.isSymbolicLink()) throw new EngineError('not-found', `"${name}" in pool "${poolName}" is not an image file.`);
  if (!options.withBases) return readVolume(ctx, pool, name);
  const volume = (await listVolumes(ctx, poolName)).find((v) => v.name === name);
  if (!volume) throw new EngineError('not-found', `"${name}" in pool "${poolName}" is not an image file.`);
  return volume;
}
