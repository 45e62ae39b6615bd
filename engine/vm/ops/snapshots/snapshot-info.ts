import { parseVmDefinition, type VmDefinition } from '../../../model';
import type { SnapshotKind, SnapshotRecord } from './snapshot-store';

/** One snapshot as callers see it (engine/api's VmSnapshot). */
export interface SnapshotInfo {
  id: string;
  name: string;
  description: string;
  createdAt: string;
  /** The snapshot this one was taken after (the tree); null for a root. */
  parentId: string | null;
  kind: SnapshotKind;
  /** running/paused: a with-memory snapshot resumes into that; stopped: taken of a stopped VM. */
  vmState: 'running' | 'paused' | 'stopped';
  /** The VM's current state descends from this snapshot (the parent of the next one). */
  current: boolean;
  disks: { id: string; source: string }[];
  skipped: { id: string; source: string; why: string }[];
  machineType: string | null;
  hasThumbnail: boolean;
  /** The VM definition at that moment; null when it no longer parses. */
  definition: VmDefinition | null;
}

export function snapshotInfo(record: SnapshotRecord, currentId: string | null): SnapshotInfo {
  let definition: VmDefinition | null;
  try {
    definition = parseVmDefinition(record.definition);
  } catch {
    definition = null;
  }
  return {
    id: record.id,
    name: record.name,
    description: record.description,
    createdAt: record.createdAt,
    parentId: record.parentId,
    kind: record.kind,
    vmState: record.vmState,
    current: record.id === currentId,
    disks: record.disks,
    skipped: record.skipped,
    machineType: record.machineType,
    hasThumbnail: record.thumbnail,
    definition,
  };
}
