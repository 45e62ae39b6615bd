import type { ArgvStep } from './context';
import { QEMU_IDS } from './ids';
import { json } from './qemu-option';
import { socketChardev } from './qmp';
import type { QemuProps } from './types';

export function serialDevice(): QemuProps {
  return { driver: 'isa-serial', id: QEMU_IDS.serialDevice, chardev: QEMU_IDS.serialChardev, index: 0 };
}

/**
 * ttyS0 on a listening unix socket; QEMU itself appends everything the guest prints to the log,
 * so output is kept while nobody is attached. wait=off: the guest runs without a client.
 */
export const serialStep: ArgvStep = {
  name: 'serial',
  build: ({ def, input }) =>
    def.serial
      ? [
          '-chardev',
          socketChardev(QEMU_IDS.serialChardev, input.paths.serialSocket, [
            ['logfile', input.paths.serialLog],
            ['logappend', true],
          ]),
          '-device',
          json(serialDevice()),
        ]
      : [],
};
