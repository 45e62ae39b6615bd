import { EngineError } from '../../api/errors';

export const MAX_SNAPSHOT_NAME_LENGTH = 64;
const SNAPSHOT_NAME = /^[A-Za-z0-9_][A-Za-z0-9 ._()-]*$/;

/** Why `name` cannot name a snapshot, or undefined. */
export function snapshotNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'is empty';
  if (name.length > MAX_SNAPSHOT_NAME_LENGTH) return `is ${name.length} characters long; at most ${MAX_SNAPSHOT_NAME_LENGTH} are allowed`;
  if (name.startsWith('-') || name.startsWith('.') || name.startsWith(' ')) return 'must not start with "-", "." or a space';
  if (name.endsWith(' ')) return 'must not end with a space';
  if (!SNAPSHOT_NAME.test(name)) return 'may only contain letters, digits, spaces and . _ - ( )';
  return undefined;
}

export function assertSnapshotName(name: string): void {
  const problem = snapshotNameProblem(name);
  if (problem !== undefined) {
    throw new EngineError('invalid-argument', `Snapshot name "${name}" ${problem}.`, { hint: 'E.g. "before-upgrade".', details: { field: 'name' } });
  }
}

/**
 * The tag the snapshot has inside each qcow2 image. Never the user's name: QEMU looks tags up by
 * name *or* numeric id, so a snapshot named "2" could hit another one; and names may be renamed.
 */
export function snapshotTag(snapshotId: string): string {
  return `vd-${snapshotId}`;
}
