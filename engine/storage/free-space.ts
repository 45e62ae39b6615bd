import { statfs } from 'node:fs/promises';
import { EngineError } from '../api/errors';
import { formatBytes } from '../model/bytes';

/** Bytes an unprivileged user can still write in the file system holding `path`. */
export async function freeBytes(path: string): Promise<number> {
  const s = await statfs(path);
  return s.bavail * s.bsize;
}

export interface SpaceRequest {
  /** Virtual size of the image: what the guest may eventually write. */
  capacity: number;
  /** What is written on the host right away (the whole size for falloc/full preallocation). */
  allocation: number;
  /** Go ahead with a sparse image larger than the free space (the guest may later run out). */
  allowOvercommit?: boolean;
}

/**
 * The pool space rule, after virt-manager's: an image whose immediate allocation does not fit is always
 * refused; a sparse image whose capacity does not fit is refused too unless the caller explicitly
 * accepts the overcommit (virt-manager shows this case as a warning; we make it a confirmation).
 * Returns a warning to show when an overcommit was accepted.
 */
export function checkSpace(where: string, free: number, request: SpaceRequest): string | undefined {
  if (request.allocation > free) {
    throw new EngineError('resource-exhausted', `Not enough free space in ${where}: the image needs ${formatBytes(request.allocation)} now, and only ${formatBytes(free)} is free.`, {
      hint: 'Choose a smaller size, create a sparse image (preallocation off), or free some space.',
      details: { free, allocation: request.allocation, capacity: request.capacity },
    });
  }
  if (request.capacity > free) {
    const warning = `The image may grow to ${formatBytes(request.capacity)}, but only ${formatBytes(free)} is free in ${where}; the guest will get I/O errors if it fills the disk.`;
    if (!request.allowOvercommit) {
      throw new EngineError('resource-exhausted', `Not enough free space in ${where}: a ${formatBytes(request.capacity)} disk does not fit in the ${formatBytes(free)} that is free.`, {
        hint: 'Choose a smaller size, or confirm the overcommit (--overcommit) for a sparse image that will only use space as the guest writes.',
        details: { free, allocation: request.allocation, capacity: request.capacity },
      });
    }
    return warning;
  }
  return undefined;
}
