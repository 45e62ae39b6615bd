import { EngineError } from '../../../engine/api/errors';
import { createVmDefinition, type VmDefinition, type VmDefinitionInput } from '../../../engine/model';

export function vm(input: Partial<VmDefinitionInput> = {}): VmDefinition {
  return createVmDefinition({ name: 'vm', nics: [{ mac: '52:54:00:00:00:01' }], ...input } as VmDefinitionInput);
}

export function thrown(fn: () => unknown): EngineError {
  try {
    fn();
  } catch (error) {
    if (error instanceof EngineError) return error;
    throw error;
  }
  throw new Error('expected an EngineError');
}

export async function rejected(promise: Promise<unknown>): Promise<EngineError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof EngineError) return error;
    throw error;
  }
  throw new Error('expected an EngineError');
}
