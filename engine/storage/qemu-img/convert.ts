import { EngineError } from '../../api/errors';
import { writeNewFile } from './output-file';
import { progressParser } from './progress';
import { runQemuImgOk, type QemuImgRunOptions } from './run';
import type { CreatableFormat, Preallocation, ProgressListener } from './types';

export interface ConvertImageOptions extends Omit<QemuImgRunOptions, 'onStdout'> {
  /** The source's format; probe with `imageInfo` first if unknown. */
  sourceFormat: string;
  targetFormat: CreatableFormat;
  /** qcow2 only: compress clusters (smaller, slower writes later). */
  compress?: boolean;
  preallocation?: Preallocation;
  clusterSize?: number;
  onProgress?: ProgressListener;
}

/**
 * `qemu-img convert -p`: copies any image into a new standalone qcow2 or raw image (the backing
 * chain is flattened). Never overwrites; a failed or cancelled convert leaves no output file.
 */
export async function convertImage(source: string, target: string, options: ConvertImageOptions): Promise<void> {
  if (options.compress && options.targetFormat !== 'qcow2') {
    throw new EngineError('invalid-argument', 'Only qcow2 images can be compressed.');
  }
  if (options.targetFormat === 'raw' && options.preallocation === 'metadata') {
    throw new EngineError('invalid-argument', 'Preallocation "metadata" exists only for qcow2.');
  }
  const opts: string[] = [];
  if (options.preallocation) opts.push(`preallocation=${options.preallocation}`);
  if (options.clusterSize !== undefined) opts.push(`cluster_size=${options.clusterSize}`);
  await writeNewFile(target, async (temp) => {
    // -U is not used: converting an image a VM is writing would copy a torn state, so the lock must hold.
    const args = ['convert', '-p', '-f', options.sourceFormat, '-O', options.targetFormat];
    if (options.compress) args.push('-c');
    if (opts.length > 0) args.push('-o', opts.join(','));
    args.push(source, temp);
    const run: QemuImgRunOptions = {};
    if (options.signal) run.signal = options.signal;
    if (options.env) run.env = options.env;
    if (options.onProgress) run.onStdout = progressParser(options.onProgress);
    await runQemuImgOk(`Converting "${source}" to ${options.targetFormat}`, args, run);
    options.onProgress?.({ percent: 100 });
  });
}
