import { stat } from 'node:fs/promises';
import { EngineError } from '../../api/errors';
import { rawContentSignature } from '../image-signature';
import { imageInfo } from '../qemu-img/info';
import type { ImageInfoWithChain } from '../qemu-img/types';

export interface ProbedImage {
  info: ImageInfoWithChain;
  /** For raw files: what was recognised inside (partition table, file system, ISO 9660). */
  rawSignature?: string;
}

/**
 * Probes what a file really is and checks it against what the caller claims. Told raw but the file is
 * qcow2 (or the reverse) is refused: opening it with the wrong format would corrupt it or expose the host.
 * With `requireImage`, a file that qemu-img only sees as raw must carry a recognisable disk signature,
 * or be declared raw explicitly, and even then its size must be whole 512-byte sectors.
 */
export async function probeImage(path: string, claimedFormat: string | undefined, options: { requireImage?: boolean; env?: NodeJS.ProcessEnv } = {}): Promise<ProbedImage> {
  const info = await imageInfo(path, options.env ? { env: options.env } : {});
  if (claimedFormat !== undefined && claimedFormat !== info.format) {
    throw new EngineError('invalid-argument', `"${path}" is a ${info.format} image, not ${claimedFormat}.`, {
      hint: `Use --format ${info.format}, or leave the format out to use what the file really is.`,
      details: { claimed: claimedFormat, detected: info.format },
    });
  }
  const probed: ProbedImage = { info };
  if (info.format !== 'raw') return probed;
  const signature = await rawContentSignature(path);
  if (signature) probed.rawSignature = signature;
  if (!options.requireImage) return probed;
  if (!signature && claimedFormat !== 'raw') {
    throw new EngineError('invalid-argument', `"${path}" does not look like a disk image: it has no image format qemu-img knows, no partition table, no file system and no ISO 9660 header.`, {
      hint: 'If it really is a raw disk image (for example an empty one), import it with --format raw.',
    });
  }
  // qemu-img rounds a raw file's virtual size up to whole sectors, so look at the file itself.
  const { size } = await stat(path);
  if (size === 0 || size % 512 !== 0) {
    throw new EngineError('invalid-argument', `"${path}" is not a disk image: its size (${size} bytes) is not a whole number of 512-byte sectors.`);
  }
  return probed;
}
