import { writeNewFile } from '../../../storage/qemu-img/output-file';
import { progressParser } from '../../../storage/qemu-img/progress';
import { runQemuImgOk } from '../../../storage/qemu-img/run';

export interface SnapshotCopyOptions {
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  onProgress?: (percent: number) => void;
}

/**
 * Copies the state an internal snapshot `tag` of a qcow2 image holds into a new standalone qcow2
 * image. The image may be open in a running VM (`-U`): a snapshot's clusters never change, so the
 * copy is consistent although the VM keeps writing the image's current state.
 */
export async function copyImageSnapshot(source: string, tag: string, target: string, options: SnapshotCopyOptions = {}): Promise<void> {
  await writeNewFile(target, async (temp) => {
    await runQemuImgOk(`Copying snapshot "${tag}" of "${source}"`, ['convert', '-U', '-p', '-f', 'qcow2', '-O', 'qcow2', '-l', `snapshot.name=${tag}`, source, temp], {
      ...(options.env ? { env: options.env } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onProgress ? { onStdout: progressParser((event) => options.onProgress?.(event.percent)) } : {}),
    });
  });
}
