import { EngineError } from '../../../api/errors';
import { snapshotNameProblem } from '../../../api/snapshot-names';

export { MAX_SNAPSHOT_NAME_LENGTH, snapshotNameProblem } from '../../../api/snapshot-names';

export function assertSnapshotName(name: string): void {
  const problem = snapshotNameProblem(name);
  if (problem !== undefined) {
    throw new EngineError('invalid-argument', `Snapshot name "${name}" ${problem}.`, { hint: 'E.g. "before-upgrade".', field: 'name' });
  }
}

/**
 * The tag the snapshot has inside each qcow2 image. Never the user's name: QEMU looks tags up by
 * name *or* numeric id, so a snapshot named "2" could hit another one; and names may be renamed.
 */
export function snapshotTag(snapshotId: string): string {
  return `vd-${snapshotId}`;
}
