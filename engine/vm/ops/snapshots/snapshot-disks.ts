import { resolve } from 'node:path';
import { EngineError } from '../../../api/errors';
import type { Disk, VmDefinition } from '../../../model';
import { formatNodeName } from '../../../qemu/argv/ids';
import type { QmpClient } from '../../../qemu/qmp';

export interface SnapshotDiskPlan {
  /** Writable qcow2 disks: each image holds the snapshot. */
  included: Disk[];
  /** Disks left out on purpose, with why. */
  skipped: { id: string; source: string; why: string }[];
}

/**
 * Which disks hold a snapshot. Every writable disk must be qcow2: a raw image has nowhere to keep
 * one, and leaving it out would make a revert mix old and new disk contents, so it is refused
 * with the way out rather than skipped. Read-only disks cannot change and are left out, saying so.
 */
export function planSnapshotDisks(def: VmDefinition): SnapshotDiskPlan {
  const raw = def.disks.filter((disk) => !disk.readOnly && disk.format !== 'qcow2');
  if (raw.length > 0) {
    const list = raw.map((disk) => `${disk.id} (${disk.source})`).join(', ');
    throw new EngineError(
      'invalid-state',
      `Cannot snapshot VM "${def.name}": disk${raw.length === 1 ? '' : 's'} ${list} ${raw.length === 1 ? 'is a raw image' : 'are raw images'}, and raw images cannot hold snapshots (Virtdesk keeps snapshots inside qcow2 images).`,
      {
        hint: `Convert ${raw.length === 1 ? 'it' : 'them'} to qcow2 (\`virtdesk image convert\`) and point the VM at the new file, make ${raw.length === 1 ? 'it' : 'them'} read-only, or detach ${raw.length === 1 ? 'it' : 'them'}.`,
        details: { rawDisks: raw.map((disk) => ({ id: disk.id, source: disk.source })) },
      },
    );
  }
  const included = def.disks.filter((disk) => !disk.readOnly);
  const skipped = def.disks.filter((disk) => disk.readOnly).map((disk) => ({ id: disk.id, source: disk.source, why: 'read-only: the guest cannot change it' }));
  return { included, skipped };
}

/**
 * The block node of each disk in the running QEMU, checked against what QEMU really has open, so
 * a disk changed at runtime (hot-unplugged, replaced) is caught instead of snapshotting the wrong file.
 */
export async function attachedNodes(qmp: QmpClient, disks: readonly Pick<Disk, 'id' | 'source'>[], vmName: string): Promise<string[]> {
  const blocks = await qmp.queryBlock();
  return disks.map((disk) => {
    const node = formatNodeName(disk.id);
    const block = blocks.find((candidate) => candidate.inserted?.['node-name'] === node);
    if (!block?.inserted || resolve(block.inserted.file) !== resolve(disk.source)) {
      throw new EngineError('invalid-state', `Disk ${disk.id} (${disk.source}) of VM "${vmName}" is not attached to its running QEMU as its definition says.`, {
        hint: 'Restart the VM so it runs what its definition says, then try again.',
        details: { disk: disk.id, attached: block?.inserted?.file ?? null },
      });
    }
    return node;
  });
}
