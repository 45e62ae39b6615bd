import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import { EngineError } from '../../api/errors';
import { rawContentSignature } from '../image-signature';
import { imageInfo } from '../qemu-img/info';

/** How much of a raw file must be zeros for it to count as a blank disk (a fresh `qemu-img create -f raw`). */
const BLANK_PROBE_BYTES = 1024 * 1024;
const QCOW_MAGIC = Buffer.from('QFI\xfb', 'latin1');

async function head(path: string, bytes: number): Promise<{ data: Buffer; size: number }> {
  const handle = await open(path, 'r');
  try {
    const size = (await handle.stat()).size;
    const data = Buffer.alloc(Math.min(size, bytes));
    await handle.read(data, 0, data.length, 0);
    return { data, size };
  } finally {
    await handle.close();
  }
}

/** Why a pool file is not something a volume delete may remove; undefined when it is a disk image or an ISO. */
export async function notAnImageReason(path: string, format: string): Promise<string | undefined> {
  // qemu-img recognised an image format of its own (qcow2, vmdk, vdi, vhdx, …).
  if (format !== 'raw' && format !== 'unknown') return undefined;
  const { data, size } = await head(path, BLANK_PROBE_BYTES);
  if (format === 'unknown') {
    // qemu-img could not open it: still ours to delete if it is a (damaged) qcow2.
    return data.subarray(0, 4).equals(QCOW_MAGIC) ? undefined : 'qemu-img cannot read it as an image';
  }
  if (await rawContentSignature(path)) return undefined;
  if (size > 0 && size % 512 === 0 && data.every((byte) => byte === 0)) return undefined;
  return 'it has no image format, partition table, file system or ISO 9660 header, and is not a blank disk';
}

/**
 * Refuses to delete a file that is neither a disk image nor an ISO, judged by its content, never
 * by its name: a pool is a folder, and other files may sit in it.
 */
export async function assertDeletableImage(path: string, format: string): Promise<void> {
  const reason = await notAnImageReason(path, format);
  if (reason === undefined) return;
  throw new EngineError('permission-denied', `"${basename(path)}" is not a disk image or ISO (${reason}), so Virtdesk does not delete it.`, {
    hint: 'If it really is a disk image, delete the file yourself; if it is not, it does not belong in a pool folder.',
  });
}

/** Like notAnImageReason for any file, probing its format first; undefined also when the file is gone. */
export async function imageDeletionProblem(path: string, env?: NodeJS.ProcessEnv): Promise<string | undefined> {
  const format = await imageInfo(path, env ? { env } : {}).then((info) => info.format, () => 'unknown');
  return notAnImageReason(path, format).catch(() => undefined);
}
