import { isAbsolute } from 'node:path';
import { EngineError } from '../../api/errors';
import { progressParser } from './progress';
import { runQemuImgOk, type QemuImgRunOptions } from './run';
import type { ProgressListener } from './types';

export interface RebaseOptions extends Omit<QemuImgRunOptions, 'onStdout'> {
  /** The new backing file (absolute), or null to make the image standalone (copies in everything from the old chain). */
  backingFile: string | null;
  backingFormat?: string;
  /** Only rewrite the header, copying nothing; correct only if the new backing file has the same contents. */
  unsafe?: boolean;
  onProgress?: ProgressListener;
}

/** `qemu-img rebase`: points a qcow2 overlay at another backing file, or at none. */
export async function rebaseImage(path: string, options: RebaseOptions): Promise<void> {
  const args = ['rebase', '-p', '-f', 'qcow2'];
  if (options.unsafe) args.push('-u');
  if (options.backingFile === null) {
    args.push('-b', '');
  } else {
    if (!isAbsolute(options.backingFile)) throw new EngineError('invalid-argument', `The backing file must be an absolute path, not "${options.backingFile}".`);
    if (!options.backingFormat) throw new EngineError('invalid-argument', 'Rebasing needs the new backing file\'s format.');
    args.push('-b', options.backingFile, '-F', options.backingFormat);
  }
  args.push(path);
  const run: QemuImgRunOptions = {};
  if (options.signal) run.signal = options.signal;
  if (options.onProgress) run.onStdout = progressParser(options.onProgress);
  await runQemuImgOk(`Rebasing "${path}"`, args, run);
}

export interface CommitOptions extends Omit<QemuImgRunOptions, 'onStdout'> {
  format?: string;
  /** Keep the overlay's data after committing it (qemu-img's -d); by default the overlay is emptied. */
  keepOverlay?: boolean;
  onProgress?: ProgressListener;
}

/** `qemu-img commit`: writes an overlay's changes down into its backing file. */
export async function commitImage(path: string, options: CommitOptions = {}): Promise<void> {
  const args = ['commit', '-p', '-f', options.format ?? 'qcow2'];
  if (options.keepOverlay) args.push('-d');
  args.push(path);
  const run: QemuImgRunOptions = {};
  if (options.signal) run.signal = options.signal;
  if (options.onProgress) run.onStdout = progressParser(options.onProgress);
  await runQemuImgOk(`Committing "${path}" into its backing file`, args, run);
}
