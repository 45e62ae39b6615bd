import { EngineError } from '../../../api/errors';
import type { QemuCapabilities } from '../../../host/probe';

/** The model's machine family of an exact QEMU machine type: pc-q35-7.2 → q35, pc-i440fx-7.2 → pc. */
export function machineFamily(type: string): 'q35' | 'pc' | undefined {
  if (type === 'q35' || type.startsWith('pc-q35-')) return 'q35';
  if (type === 'pc' || type.startsWith('pc-i440fx-') || /^pc-\d/.test(type)) return 'pc';
  return undefined;
}

/**
 * Memory state loads only into the exact machine type (chipset version) it was taken on; an
 * upgraded QEMU keeps the old versions, and the state is then loaded into that one.
 */
export function assertMachineAvailable(machineType: string, caps: Pick<QemuCapabilities, 'machines' | 'version'>, what: string, hint: string): void {
  if (caps.machines.some((machine) => machine.name === machineType)) return;
  throw new EngineError('invalid-state', `${what} was taken on machine type ${machineType}, which this QEMU (${caps.version.text}) does not have, so it cannot be loaded.`, {
    hint,
    details: { machineType },
  });
}
