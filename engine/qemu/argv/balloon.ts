import { EngineError } from '../../api/errors';
import type { ArgvStep } from './context';
import { QEMU_IDS } from './ids';
import type { PciPlacement } from './pci-layout';
import { json } from './qemu-option';
import type { QemuProps } from './types';

export function balloonDevice(placement: PciPlacement): QemuProps {
  return { driver: 'virtio-balloon-pci', id: QEMU_IDS.balloon, bus: placement.bus, addr: placement.addr };
}

export const balloonStep: ArgvStep = {
  name: 'balloon',
  build: ({ def, pci }) => {
    if (!def.balloon) return [];
    const placement = pci.devices.get(QEMU_IDS.balloon);
    if (placement === undefined) throw new EngineError('internal', 'No PCI slot was planned for the balloon');
    return ['-device', json(balloonDevice(placement))];
  },
};
