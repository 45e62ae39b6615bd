import { lstat, rename, rm, symlink, unlink } from 'node:fs/promises';
import { basename, dirname, isAbsolute } from 'node:path';
import { EngineError } from '../../api/errors';
import { downloadFile, fileNameFromUrl, type DownloadProgress } from '../download/download';
import { checkSpace, freeBytes } from '../free-space';
import { volumePath } from '../pools/names';
import { checkImage, type CheckResult } from '../qemu-img/check';
import { convertImage } from '../qemu-img/convert';
import { createImage } from '../qemu-img/create';
import { measureImage } from '../qemu-img/measure';
import { pathExists } from '../qemu-img/output-file';
import { resizeImage } from '../qemu-img/resize';
import { CREATABLE_FORMATS, type CreatableFormat, type Preallocation, type ProgressListener } from '../qemu-img/types';
import { canonicalPath, describeUsers } from '../usage';
import { assertDeletableImage } from './deletable';
import { probeImage } from './format-check';
import { assertNotBase, assertNotRunning } from './guards';
import { getVolume, qemuImgEnv } from './list';
import type { StorageContext, Volume } from './types';

export interface OperationResult {
  volume: Volume;
  /** Things the user should know although the operation succeeded (e.g. an accepted overcommit). */
  warnings: string[];
}

async function assertFree(path: string): Promise<void> {
  if (await pathExists(path)) {
    throw new EngineError('already-exists', `"${basename(path)}" already exists in that pool.`, { hint: 'Choose another name.' });
  }
}

export interface CreateVolumeRequest {
  pool: string;
  name: string;
  format: CreatableFormat;
  sizeBytes: number;
  preallocation?: Preallocation;
  clusterSize?: number;
  allowOvercommit?: boolean;
  signal?: AbortSignal;
}

export async function createVolume(ctx: StorageContext, request: CreateVolumeRequest): Promise<OperationResult> {
  const pool = await ctx.pools.get(request.pool);
  const path = volumePath(pool.path, request.name);
  await assertFree(path);
  const preallocated = request.preallocation === 'falloc' || request.preallocation === 'full';
  const warning = checkSpace(`pool "${pool.name}"`, await freeBytes(pool.path), {
    capacity: request.sizeBytes,
    allocation: preallocated ? request.sizeBytes : 0,
    allowOvercommit: request.allowOvercommit ?? false,
  });
  const options: Parameters<typeof createImage>[1] = { format: request.format, sizeBytes: request.sizeBytes };
  if (request.preallocation) options.preallocation = request.preallocation;
  if (request.clusterSize !== undefined) options.clusterSize = request.clusterSize;
  if (request.signal) options.signal = request.signal;
  if (ctx.env) options.env = ctx.env;
  await createImage(path, options);
  return { volume: await getVolume(ctx, pool.name, request.name), warnings: warning ? [warning] : [] };
}

export interface DeleteVolumeRequest {
  pool: string;
  name: string;
  /** Delete although stopped VMs still reference it (their disk will be missing). Never overrides a running VM or linked clones. */
  force?: boolean;
}

export interface DeleteResult {
  deleted: string;
  /** For a volume imported by reference: the file that was left in place. */
  keptFile?: string;
}

export async function deleteVolume(ctx: StorageContext, request: DeleteVolumeRequest): Promise<DeleteResult> {
  const volume = await getVolume(ctx, request.pool, request.name, { withBases: true });
  assertNotRunning(volume, 'delete');
  assertNotBase(volume, 'delete');
  if (volume.usedBy.length > 0 && !request.force) {
    throw new EngineError('conflict', `Cannot delete "${volume.name}": the VM ${describeUsers(volume.usedBy)} still use${volume.usedBy.length === 1 ? 's' : ''} it.`, {
      hint: 'Remove the disk from the VM first, or pass --force to delete it anyway (the VM will not start until its disk is replaced).',
      details: { usedBy: volume.usedBy },
    });
  }
  if (volume.referenceTo !== undefined) {
    await unlink(volume.path);
    return { deleted: volume.path, keptFile: volume.referenceTo };
  }
  await assertDeletableImage(volume.path, volume.format);
  await rm(volume.path);
  return { deleted: volume.path };
}

export interface ResizeVolumeRequest {
  pool: string;
  name: string;
  sizeBytes: number;
  /** Shrink a raw image (data past the new end is lost). */
  force?: boolean;
  allowOvercommit?: boolean;
}

export async function resizeVolume(ctx: StorageContext, request: ResizeVolumeRequest): Promise<OperationResult & { previousSize: number }> {
  const volume = await getVolume(ctx, request.pool, request.name, { withBases: true });
  assertNotRunning(volume, 'resize');
  assertNotBase(volume, 'resize');
  const warnings: string[] = [];
  if (request.sizeBytes > volume.virtualSize) {
    const pool = await ctx.pools.get(request.pool);
    const warning = checkSpace(`pool "${pool.name}"`, await freeBytes(pool.path), {
      capacity: request.sizeBytes - volume.virtualSize,
      allocation: 0,
      allowOvercommit: request.allowOvercommit ?? false,
    });
    if (warning) warnings.push(warning);
  }
  const result = await resizeImage(volume.path, request.sizeBytes, { force: request.force ?? false, ...qemuImgEnv(ctx) });
  return { volume: await getVolume(ctx, request.pool, request.name), warnings, previousSize: result.previousSize };
}

export interface CloneVolumeRequest {
  pool: string;
  name: string;
  newName: string;
  /** Where the clone goes; default the source's pool. */
  targetPool?: string;
  /** full: an independent copy (qemu-img convert). linked: a qcow2 overlay that reads unchanged data from the source. */
  mode: 'full' | 'linked';
  /** Full clones only; default the source's format (qcow2 when the source is in another format). */
  format?: CreatableFormat;
  /** Full clones to qcow2 only: compress the copy. */
  compress?: boolean;
  allowOvercommit?: boolean;
  onProgress?: ProgressListener;
  signal?: AbortSignal;
}

function creatableOr(format: string, fallback: CreatableFormat): CreatableFormat {
  return (CREATABLE_FORMATS as readonly string[]).includes(format) ? (format as CreatableFormat) : fallback;
}

export async function cloneVolume(ctx: StorageContext, request: CloneVolumeRequest): Promise<OperationResult> {
  const source = await getVolume(ctx, request.pool, request.name);
  if (source.problem) throw new EngineError('invalid-state', `Cannot clone "${source.name}": ${source.problem}`);
  // A running VM writing the source would make a torn copy, or change a linked clone's base under it.
  assertNotRunning(source, 'clone', { readOnlyIsFine: true });
  const targetPool = await ctx.pools.get(request.targetPool ?? request.pool);
  const target = volumePath(targetPool.path, request.newName);
  await assertFree(target);
  const free = await freeBytes(targetPool.path);
  const warnings: string[] = [];
  const sourcePath = await canonicalPath(source.path);
  if (request.mode === 'linked') {
    if (request.format && request.format !== 'qcow2') throw new EngineError('invalid-argument', 'A linked clone is always a qcow2 overlay.');
    const warning = checkSpace(`pool "${targetPool.name}"`, free, { capacity: source.virtualSize, allocation: 0, allowOvercommit: request.allowOvercommit ?? true });
    if (warning) warnings.push(warning);
    const options: Parameters<typeof createImage>[1] = { format: 'qcow2', backingFile: sourcePath, backingFormat: source.format };
    if (request.signal) options.signal = request.signal;
    if (ctx.env) options.env = ctx.env;
    await createImage(target, options);
  } else {
    const format = request.format ?? creatableOr(source.format, 'qcow2');
    const measured = await measureImage({ targetFormat: format, source: { path: sourcePath, format: source.format }, ...qemuImgEnv(ctx) });
    const warning = checkSpace(`pool "${targetPool.name}"`, free, { capacity: source.virtualSize, allocation: measured.required, allowOvercommit: request.allowOvercommit ?? false });
    if (warning) warnings.push(warning);
    const options: Parameters<typeof convertImage>[2] = { sourceFormat: source.format, targetFormat: format };
    if (request.compress) options.compress = true;
    if (request.onProgress) options.onProgress = request.onProgress;
    if (request.signal) options.signal = request.signal;
    if (ctx.env) options.env = ctx.env;
    await convertImage(sourcePath, target, options);
  }
  return { volume: await getVolume(ctx, targetPool.name, request.newName), warnings };
}

export interface ImportVolumeRequest {
  pool: string;
  /** Absolute path of the file to import. */
  source: string;
  /** copy: a standalone copy (backing chains flattened); move: the file moves into the pool; reference: the pool links to it where it is. */
  mode: 'copy' | 'move' | 'reference';
  /** Name in the pool; default the file's name. */
  name?: string;
  /** What the caller says the file is. Checked against the file; a mismatch is refused. */
  format?: string;
  allowOvercommit?: boolean;
  onProgress?: ProgressListener;
  signal?: AbortSignal;
}

export async function importVolume(ctx: StorageContext, request: ImportVolumeRequest): Promise<OperationResult> {
  if (!isAbsolute(request.source)) throw new EngineError('invalid-argument', `The file to import must be given by an absolute path, not "${request.source}".`);
  const stats = await lstat(request.source).catch(() => undefined);
  if (!stats) throw new EngineError('not-found', `"${request.source}" does not exist.`);
  const source = await canonicalPath(request.source);
  const sourceStats = await lstat(source);
  if (!sourceStats.isFile()) throw new EngineError('invalid-argument', `"${request.source}" is not a regular file.`);
  const pool = await ctx.pools.get(request.pool);
  if (dirname(source) === (await canonicalPath(pool.path))) {
    throw new EngineError('already-exists', `"${request.source}" is already in pool "${pool.name}".`);
  }
  const name = request.name ?? basename(source);
  const target = volumePath(pool.path, name);
  await assertFree(target);
  const probed = await probeImage(source, request.format, { requireImage: true, ...qemuImgEnv(ctx) });
  const users = await ctx.usage(source);
  const running = users.filter((u) => u.running && !u.readOnly);
  if (running.length > 0 && request.mode !== 'reference') {
    throw new EngineError('conflict', `Cannot ${request.mode} "${request.source}": it is in use by the running VM ${describeUsers(running)}.`, { hint: 'Shut the VM down first, or import it by reference.' });
  }
  const warnings: string[] = [];
  const { info } = probed;
  if (request.mode === 'reference') {
    await symlink(source, target);
  } else if (request.mode === 'move') {
    if (info.backingFile !== undefined && !isAbsolute(info.backingFile)) {
      throw new EngineError('invalid-argument', `"${request.source}" is a linked clone whose base is given relative to its folder (${info.backingFile}); moving it would cut it off from its base.`, {
        hint: 'Import it with --mode copy (makes a standalone copy) or --mode reference.',
      });
    }
    try {
      await rename(source, target);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
      // Another file system: copy, then remove the original only once the copy is complete.
      await copyInto(ctx, info.format, info.virtualSize, source, target, pool.path, request, warnings);
      await rm(source);
    }
  } else {
    await copyInto(ctx, info.format, info.virtualSize, source, target, pool.path, request, warnings);
    if (info.backingFile !== undefined) warnings.push(`"${basename(source)}" was a linked clone of ${info.backingPath ?? info.backingFile}; the copy is standalone.`);
  }
  return { volume: await getVolume(ctx, pool.name, name), warnings };
}

async function copyInto(ctx: StorageContext, format: string, virtualSize: number, source: string, target: string, poolPath: string, request: ImportVolumeRequest, warnings: string[]): Promise<void> {
  const targetFormat = creatableOr(format, 'qcow2');
  if (targetFormat !== format) warnings.push(`The ${format} image was converted to qcow2.`);
  const measured = await measureImage({ targetFormat, source: { path: source, format }, ...qemuImgEnv(ctx) });
  const warning = checkSpace(`the pool folder ${poolPath}`, await freeBytes(poolPath), { capacity: virtualSize, allocation: measured.required, allowOvercommit: request.allowOvercommit ?? true });
  if (warning) warnings.push(warning);
  const options: Parameters<typeof convertImage>[2] = { sourceFormat: format, targetFormat };
  if (request.onProgress) options.onProgress = request.onProgress;
  if (request.signal) options.signal = request.signal;
  if (ctx.env) options.env = ctx.env;
  await convertImage(source, target, options);
}

export interface CheckVolumeRequest {
  pool: string;
  name: string;
  repair?: 'leaks' | 'all';
}

export async function checkVolume(ctx: StorageContext, request: CheckVolumeRequest): Promise<CheckResult> {
  const volume = await getVolume(ctx, request.pool, request.name);
  assertNotRunning(volume, request.repair ? 'repair' : 'check');
  const options: Parameters<typeof checkImage>[1] = { format: volume.format, ...qemuImgEnv(ctx) };
  if (request.repair) options.repair = request.repair;
  return checkImage(volume.path, options);
}

export interface DownloadVolumeRequest {
  pool: string;
  url: string;
  /** Name in the pool; default the URL's file name. */
  name?: string;
  sha256?: string;
  /** What the image should be; checked once downloaded. */
  format?: string;
  onProgress?: (progress: DownloadProgress) => void;
  signal?: AbortSignal;
}

/** Downloads a disk image into a pool. A file that turns out not to be an image (or not the claimed format) is removed again. */
export async function downloadVolume(ctx: StorageContext, request: DownloadVolumeRequest): Promise<OperationResult> {
  const pool = await ctx.pools.get(request.pool);
  const name = request.name ?? fileNameFromUrl(request.url);
  if (!name) throw new EngineError('invalid-argument', `The URL ${request.url} has no file name; give one with --name.`);
  const target = volumePath(pool.path, name);
  await assertFree(target);
  const options: Parameters<typeof downloadFile>[0] = { url: request.url, target };
  if (request.sha256) options.sha256 = request.sha256;
  if (request.onProgress) options.onProgress = request.onProgress;
  if (request.signal) options.signal = request.signal;
  await downloadFile(options);
  try {
    await probeImage(target, request.format, { requireImage: true, ...qemuImgEnv(ctx) });
  } catch (error) {
    await rm(target, { force: true });
    throw error;
  }
  return { volume: await getVolume(ctx, pool.name, name), warnings: [] };
}
