import { EngineError } from '../../api/errors';
import { imageInfo } from './info';
import { runQemuImgOk, type QemuImgRunOptions } from './run';

export interface ResizeImageOptions extends QemuImgRunOptions {
  /** Allow making a raw image smaller. Data past the new end is lost. Never allowed for other formats. */
  force?: boolean;
}

export interface ResizeResult {
  previousSize: number;
  newSize: number;
  changed: boolean;
}

/** `qemu-img resize`: grows an image; shrinking is refused unless the image is raw and `force` is set. */
export async function resizeImage(path: string, newSize: number, options: ResizeImageOptions = {}): Promise<ResizeResult> {
  if (!Number.isSafeInteger(newSize) || newSize <= 0) {
    throw new EngineError('invalid-argument', `The new size must be a positive whole number of bytes, not ${newSize}.`);
  }
  const info = await imageInfo(path, options);
  if (newSize === info.virtualSize) return { previousSize: info.virtualSize, newSize, changed: false };
  const args = ['resize', '-q', '-f', info.format];
  if (newSize < info.virtualSize) {
    if (info.format !== 'raw') {
      throw new EngineError('invalid-argument', `Refusing to shrink "${path}": it is a ${info.format} image, and only raw images can be made smaller here.`, {
        hint: 'Shrink the file systems inside the guest and convert the image instead, or choose a size of at least the current one.',
      });
    }
    if (!options.force) {
      throw new EngineError('invalid-argument', `Refusing to shrink "${path}" from ${info.virtualSize} to ${newSize} bytes: everything past the new end would be lost.`, {
        hint: 'Shrink the partitions inside the guest first, then repeat with --force (raw images only).',
      });
    }
    args.push('--shrink');
  }
  args.push(path, String(newSize));
  await runQemuImgOk(`Resizing image "${path}"`, args, options);
  return { previousSize: info.virtualSize, newSize, changed: true };
}
