/**
 * The rule for snapshot names, shared by the engine (which enforces it) and the UI (which checks
 * as the person types). Names are shown and typed in shells, so they stay plain.
 */
export const MAX_SNAPSHOT_NAME_LENGTH = 64;
const SNAPSHOT_NAME = /^[A-Za-z0-9_][A-Za-z0-9 ._()-]*$/;

/** Why `name` cannot name a snapshot (to follow `Snapshot name "…" `), or undefined. */
export function snapshotNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'is empty';
  if (name.length > MAX_SNAPSHOT_NAME_LENGTH) return `is ${name.length} characters long; at most ${MAX_SNAPSHOT_NAME_LENGTH} are allowed`;
  if (name.startsWith('-') || name.startsWith('.') || name.startsWith(' ')) return 'must not start with "-", "." or a space';
  if (name.endsWith(' ')) return 'must not end with a space';
  if (!SNAPSHOT_NAME.test(name)) return 'may only contain letters, digits, spaces and . _ - ( )';
  return undefined;
}

export const MAX_SNAPSHOT_DESCRIPTION_LENGTH = 4096;
