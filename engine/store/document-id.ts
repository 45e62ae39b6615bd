import { EngineError } from '../api/errors';

// Lowercase only: ids name folders, and `ABC…` and `abc…` would be two different folders.
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function isDocumentId(value: string): boolean {
  return UUID.test(value);
}

/** Refuses anything but a lowercase UUID, so an id can never name a path outside the store. */
export function assertDocumentId(id: unknown, label: string): asserts id is string {
  if (typeof id === 'string' && UUID.test(id)) return;
  throw new EngineError('invalid-argument', `${JSON.stringify(id)} is not a valid ${label} id: ids are lowercase UUIDs`, {
    hint: 'Use the id printed by `list`, or refer to it by name.',
  });
}
