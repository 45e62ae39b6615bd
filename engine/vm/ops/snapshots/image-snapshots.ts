import { imageInfo } from '../../../storage/qemu-img/info';
import { runQemuImgOk } from '../../../storage/qemu-img/run';

/**
 * Internal snapshots of a qcow2 image no QEMU has open (a stopped VM): `qemu-img snapshot`.
 * It takes no format option (it probes); callers only pass images the definition says are qcow2.
 */
export type ImageSnapshotAction = 'create' | 'apply' | 'delete';

const FLAG: Record<ImageSnapshotAction, string> = { create: '-c', apply: '-a', delete: '-d' };
const WORDS: Record<ImageSnapshotAction, string> = { create: 'Taking snapshot', apply: 'Reverting to snapshot', delete: 'Deleting snapshot' };

export async function imageSnapshot(action: ImageSnapshotAction, path: string, tag: string, env?: NodeJS.ProcessEnv): Promise<void> {
  await runQemuImgOk(`${WORDS[action]} "${tag}" of "${path}"`, ['snapshot', '-q', FLAG[action], tag, path], env ? { env } : {});
}

/** What is in an image file now, probed (not taken from a definition): its format and snapshot tags. */
export interface ImageFacts {
  format: string;
  tags: Set<string>;
}

/** `qemu-img info -U`: readable while a VM has the image open. */
export async function imageFacts(path: string, env?: NodeJS.ProcessEnv): Promise<ImageFacts> {
  const info = await imageInfo(path, env ? { env } : {});
  return { format: info.format, tags: new Set(info.snapshots.map((snapshot) => snapshot.name)) };
}
