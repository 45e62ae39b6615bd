import type { VmDefinition } from '../../../model';
import { snapshotInfo, type SnapshotInfo } from './snapshot-info';
import { findSnapshot, readCurrentSnapshotId, readSnapshotRecords, readThumbnail } from './snapshot-store';

/** A VM's snapshots, oldest first (the tree is in `parentId`), and records that could not be read. */
export async function listSnapshots(ctx: { home: string }, def: Pick<VmDefinition, 'id'>): Promise<{ snapshots: SnapshotInfo[]; problems: string[] }> {
  const { records, problems } = await readSnapshotRecords(ctx.home, def.id);
  const currentId = await readCurrentSnapshotId(ctx.home, def.id);
  return { snapshots: records.map((record) => snapshotInfo(record, currentId)), problems };
}

/** The screenshot taken with a snapshot (PNG), or null when there is none. */
export async function snapshotThumbnail(ctx: { home: string }, def: Pick<VmDefinition, 'id' | 'name'>, ref: string): Promise<Buffer | null> {
  const { records } = await readSnapshotRecords(ctx.home, def.id);
  return readThumbnail(ctx.home, def.id, findSnapshot(records, ref, def.name));
}
