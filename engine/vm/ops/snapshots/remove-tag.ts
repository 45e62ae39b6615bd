import { resolve } from 'node:path';
import { formatNodeName } from '../../../qemu/argv/ids';
import { withCommandQmp } from '../../runtime/qmp-session';
import type { VmRuntimePaths } from '../../runtime/paths';
import { imageFacts, imageSnapshot } from './image-snapshots';
import { runSnapshotJob } from './snapshot-jobs';

export interface TaggedDisk {
  id: string;
  source: string;
}

/**
 * Removes the internal snapshot `tag` from every image that still holds it: through the running
 * QEMU for the images it has open (`snapshot-delete`), with qemu-img for the others. Returns a note
 * for each image that could not be cleaned (missing, or no longer holding it is not a failure).
 */
export async function removeTagFromImages(
  disks: readonly TaggedDisk[],
  tag: string,
  live: { paths: VmRuntimePaths; vmName: string } | undefined,
  env: NodeJS.ProcessEnv,
): Promise<string[]> {
  const notes: string[] = [];
  const holders: TaggedDisk[] = [];
  for (const disk of disks) {
    try {
      if ((await imageFacts(disk.source, env)).tags.has(tag)) holders.push(disk);
    } catch (error) {
      notes.push(`${disk.id} (${disk.source}) could not be read, so the snapshot stays in it if it is there: ${(error as Error).message}`);
    }
  }
  let offline = holders;
  if (live && holders.length > 0) {
    offline = [];
    await withCommandQmp(
      live.paths,
      live.vmName,
      async (qmp) => {
        const blocks = await qmp.queryBlock();
        const attached: string[] = [];
        for (const disk of holders) {
          const node = formatNodeName(disk.id);
          const block = blocks.find((candidate) => candidate.inserted?.['node-name'] === node);
          if (block?.inserted && resolve(block.inserted.file) === resolve(disk.source)) attached.push(node);
          else offline.push(disk);
        }
        if (attached.length === 0) return;
        try {
          await runSnapshotJob(qmp, 'snapshot-delete', { tag, devices: attached });
        } catch {
          // One node at a time, so one refusing node does not keep the tag in the others.
          for (const node of attached) await qmp.blockdevSnapshotDeleteInternal(node, tag).catch((error: Error) => notes.push(`${node}: ${error.message}`));
        }
      },
      { commandTimeoutMs: 10 * 60_000 },
    );
  }
  for (const disk of offline) {
    await imageSnapshot('delete', disk.source, tag, env).catch((error: Error) => notes.push(`${disk.id} (${disk.source}): ${error.message}`));
  }
  return notes;
}
