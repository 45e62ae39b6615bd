import { EngineError } from '../../api/errors';
import type { ArgvStep } from './context';
import { QEMU_IDS } from './ids';
import type { PciPlacement } from './pci-layout';
import { json } from './qemu-option';
import type { QemuProps } from './types';

/** /dev/urandom never blocks; the guest mixes it into its own pool. */
export function rngBackendObject(): QemuProps {
  return { 'qom-type': 'rng-random', id: QEMU_IDS.rngBackend, filename: '/dev/urandom' };
}

export function rngDevice(placement: PciPlacement): QemuProps {
  return { driver: 'virtio-rng-pci', id: QEMU_IDS.rng, rng: QEMU_IDS.rngBackend, bus: placement.bus, addr: placement.addr };
}

export const rngStep: ArgvStep = {
  name: 'rng',
  build: ({ def, pci }) => {
    if (!def.rng) return [];
    const placement = pci.devices.get(QEMU_IDS.rng);
    if (placement === undefined) throw new EngineError('internal', 'No PCI slot was planned for the RNG');
    return ['-object', json(rngBackendObject()), '-device', json(rngDevice(placement))];
  },
};
