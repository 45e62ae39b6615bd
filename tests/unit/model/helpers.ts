import type { EngineError } from '../../../engine/api/errors';
import { createVmDefinition, type CreateVmContext, type VmDefinition, type VmDefinitionInput } from '../../../engine/model';

export const FIXED_NOW = () => new Date('2025-01-02T03:04:05.000Z');

let counter = 0;
/** A definition with a predictable id; MACs stay random unless given. */
export function makeVm(input: VmDefinitionInput, context: CreateVmContext = {}): VmDefinition {
  counter += 1;
  const id = `00000000-0000-4000-8000-${counter.toString(16).padStart(12, '0')}`;
  return createVmDefinition({ id, ...input }, { now: FIXED_NOW, ...context });
}

/** Runs fn and returns the EngineError it throws (fails the test when it does not throw). */
export function thrown(fn: () => unknown): EngineError {
  try {
    fn();
  } catch (error) {
    return error as EngineError;
  }
  throw new Error('expected an error, nothing was thrown');
}
