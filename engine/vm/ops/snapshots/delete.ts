import type { VmDefinition } from '../../../model';
import { assertNotTemplate } from '../clone/template';
import { vmRuntimePaths } from '../../runtime/paths';
import { probeVmStatus } from '../../runtime/probe';
import type { SnapshotContext } from './lifecycle';
import { removeTagFromImages } from './remove-tag';
import { snapshotInfo, type SnapshotInfo } from './snapshot-info';
import { findSnapshot, readCurrentSnapshotId, readSnapshotRecords, removeSnapshotFolder, withSnapshotLock, writeCurrentSnapshotId, writeSnapshotRecord } from './snapshot-store';

export interface DeleteSnapshotResult {
  deleted: SnapshotInfo;
  /** Images the snapshot could not be removed from (it then stays in them, harmlessly, under its tag). */
  notes: string[];
}

/**
 * Deletes one snapshot: from its images (through the running QEMU, or qemu-img) and its record.
 * Its children hang on its parent afterwards; if it was current, its parent becomes current.
 */
export async function deleteSnapshot(ctx: SnapshotContext, def: VmDefinition, ref: string): Promise<DeleteSnapshotResult> {
  await assertNotTemplate(ctx.home, def, 'delete a snapshot of');
  return withSnapshotLock(ctx.home, def.id, async () => {
    const { records } = await readSnapshotRecords(ctx.home, def.id);
    const record = findSnapshot(records, ref, def.name);
    const currentId = await readCurrentSnapshotId(ctx.home, def.id);
    const paths = vmRuntimePaths(ctx.home, def.id, ctx.env);
    const status = await probeVmStatus(paths, def.name);
    const notes = await removeTagFromImages(record.disks, record.tag, status.pid !== undefined ? { paths, vmName: def.name } : undefined, ctx.env);
    for (const child of records.filter((other) => other.parentId === record.id)) {
      await writeSnapshotRecord(ctx.home, def.id, { ...child, parentId: record.parentId });
    }
    if (currentId === record.id) await writeCurrentSnapshotId(ctx.home, def.id, record.parentId);
    await removeSnapshotFolder(ctx.home, def.id, record.id);
    return { deleted: snapshotInfo(record, currentId), notes };
  });
}
