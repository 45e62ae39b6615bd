import { statSync } from 'node:fs';
import { stat } from 'node:fs/promises';

/**
 * Identity of one version of a file: `ino:mtimeMs:size`. An atomic write renames a new inode in,
 * so every store write changes it; a hand edit in place changes mtime (nanosecond clocks) and
 * usually size. Used to re-read only the files that changed since they were last parsed.
 */
export type FileSignature = string;

export function signatureOf(info: { ino: number | bigint; mtimeMs: number | bigint; size: number | bigint }): FileSignature {
  return `${info.ino}:${info.mtimeMs}:${info.size}`;
}

/** The signature of `path`, or undefined when it does not exist (or cannot be stat'ed). */
export async function fileSignature(path: string): Promise<FileSignature | undefined> {
  try {
    return signatureOf(await stat(path));
  } catch {
    return undefined;
  }
}

/** As fileSignature, synchronously (for sweeps over many files, where thread-pool round trips dominate). */
export function fileSignatureSync(path: string): FileSignature | undefined {
  try {
    const info = statSync(path, { throwIfNoEntry: false });
    return info ? signatureOf(info) : undefined;
  } catch {
    return undefined;
  }
}
