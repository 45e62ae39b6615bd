/** Snapshots of a VM: internal qcow2 snapshots of its disks (with memory when it runs), a tree of records beside its definition. */
export { createSnapshot, MAX_SNAPSHOT_DESCRIPTION_LENGTH, type CreateSnapshotRequest } from './create';
export { deleteSnapshot, type DeleteSnapshotResult } from './delete';
export { hardwareChanges } from './hardware-diff';
export { directLifecycle, type SnapshotContext, type VmLifecycle } from './lifecycle';
export { listSnapshots, snapshotThumbnail } from './list';
export { revertSnapshot, type RevertRequest, type RevertResult } from './revert';
export { planSnapshotDisks, type SnapshotDiskPlan } from './snapshot-disks';
export type { SnapshotInfo } from './snapshot-info';
export { runSnapshotJob, type SnapshotJobOptions, type SnapshotJobOutcome } from './snapshot-jobs';
export { assertSnapshotName, MAX_SNAPSHOT_NAME_LENGTH, snapshotNameProblem, snapshotTag } from './snapshot-names';
export { SNAPSHOT_KINDS, snapshotsRoot, type SnapshotKind } from './snapshot-store';
