import type { ArgvStep } from './context';
import { QEMU_IDS } from './ids';
import { json } from './qemu-option';
import type { QemuProps } from './types';

/** An absolute pointer on the xHCI controller (controllers.ts adds it when the tablet is on). */
export function tabletDevice(): QemuProps {
  return { driver: 'usb-tablet', id: QEMU_IDS.tablet, bus: `${QEMU_IDS.usbController}.0`, port: '1' };
}

export const usbTabletStep: ArgvStep = {
  name: 'usb-tablet',
  build: ({ def }) => (def.display.usbTablet ? ['-device', json(tabletDevice())] : []),
};
