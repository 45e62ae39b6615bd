import { isAbsolute } from 'node:path';
import { EngineError } from '../../api/errors';
import { writeNewFile } from './output-file';
import { runQemuImgOk, type QemuImgRunOptions } from './run';
import type { CreatableFormat, Preallocation } from './types';

export interface CreateImageOptions extends QemuImgRunOptions {
  format: CreatableFormat;
  /** Virtual size in bytes. May be left out for an overlay, which then takes its backing file's size. */
  sizeBytes?: number;
  preallocation?: Preallocation;
  /** qcow2 only: a power of two from 512 B to 2 MiB. */
  clusterSize?: number;
  /** qcow2 only: makes a linked clone (overlay) of this file. Absolute path. */
  backingFile?: string;
  /** Required with backingFile: the backing file's format is recorded so it is never probed. */
  backingFormat?: string;
}

export function validateCreateOptions(options: CreateImageOptions): void {
  const { format, preallocation, clusterSize, backingFile, backingFormat, sizeBytes } = options;
  if (format === 'raw' && preallocation === 'metadata') {
    throw new EngineError('invalid-argument', 'Preallocation "metadata" exists only for qcow2; a raw image has no metadata to preallocate.', {
      hint: 'Use off, falloc or full for raw images.',
    });
  }
  if (clusterSize !== undefined) {
    if (format !== 'qcow2') throw new EngineError('invalid-argument', 'A cluster size can only be set for qcow2 images.');
    const isPowerOfTwo = Number.isInteger(clusterSize) && clusterSize > 0 && (clusterSize & (clusterSize - 1)) === 0;
    if (!isPowerOfTwo || clusterSize < 512 || clusterSize > 2 * 1024 * 1024) {
      throw new EngineError('invalid-argument', `Cluster size ${clusterSize} is not allowed: it must be a power of two from 512 bytes to 2 MiB.`);
    }
  }
  if (backingFile !== undefined) {
    if (format !== 'qcow2') throw new EngineError('invalid-argument', 'Only qcow2 images can have a backing file (linked clones).');
    if (!isAbsolute(backingFile)) throw new EngineError('invalid-argument', `The backing file must be an absolute path, not "${backingFile}".`);
    if (!backingFormat) throw new EngineError('invalid-argument', 'A backing file needs its format (backingFormat), so it is never guessed from its contents.');
    if (preallocation === 'falloc' || preallocation === 'full') {
      throw new EngineError('invalid-argument', 'A linked clone cannot be fully preallocated; it stores only what differs from its base.');
    }
  } else if (sizeBytes === undefined) {
    throw new EngineError('invalid-argument', 'A size is needed to create an image without a backing file.');
  }
  if (sizeBytes !== undefined && (!Number.isSafeInteger(sizeBytes) || sizeBytes <= 0)) {
    throw new EngineError('invalid-argument', `The size must be a positive whole number of bytes, not ${sizeBytes}.`);
  }
}

export function createArgs(path: string, options: CreateImageOptions): string[] {
  const opts: string[] = [];
  if (options.preallocation) opts.push(`preallocation=${options.preallocation}`);
  if (options.clusterSize !== undefined) opts.push(`cluster_size=${options.clusterSize}`);
  const args = ['create', '-q', '-f', options.format];
  if (opts.length > 0) args.push('-o', opts.join(','));
  if (options.backingFile !== undefined) args.push('-b', options.backingFile, '-F', options.backingFormat ?? '');
  args.push(path);
  if (options.sizeBytes !== undefined) args.push(String(options.sizeBytes));
  return args;
}

/** `qemu-img create`. Refuses to overwrite; a failed or cancelled create leaves no file behind. */
export async function createImage(path: string, options: CreateImageOptions): Promise<void> {
  validateCreateOptions(options);
  await writeNewFile(path, async (temp) => {
    await runQemuImgOk(`Creating image "${path}"`, createArgs(temp, options), options);
  });
}
