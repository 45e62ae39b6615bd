import { EngineError } from '../../api/errors';
import type { ArgvStep } from './context';
import { QEMU_IDS } from './ids';
import { json } from './qemu-option';
import type { QemuProps, ResolvedFirmware } from './types';

/** OVMF code (read-only) and this VM's NVRAM (writable) as pflash block nodes; -machine names them. */
export function pflashBlockdevs(firmware: ResolvedFirmware): QemuProps[] {
  const format = firmware.format ?? 'raw';
  return [
    { driver: 'file', filename: firmware.code, 'node-name': `${QEMU_IDS.pflashCode}-file`, 'read-only': true },
    { driver: format, file: `${QEMU_IDS.pflashCode}-file`, 'node-name': QEMU_IDS.pflashCode, 'read-only': true },
    { driver: 'file', filename: firmware.varsFile, 'node-name': `${QEMU_IDS.pflashVars}-file`, 'read-only': false },
    { driver: format, file: `${QEMU_IDS.pflashVars}-file`, 'node-name': QEMU_IDS.pflashVars, 'read-only': false },
  ];
}

/** UEFI: the pflash nodes, and for Secure Boot the flash locked to SMM (OVMF's requires-smm builds). */
export const firmwareStep: ArgvStep = {
  name: 'firmware',
  build: ({ def, input }) => {
    if (def.firmware.type !== 'uefi') return [];
    if (input.firmware === undefined) {
      throw new EngineError('unavailable', `VM "${def.name}" uses UEFI, but no OVMF firmware was found`, {
        hint: 'Install OVMF (Debian: apt install ovmf), or switch the VM to BIOS firmware.',
      });
    }
    return [
      ...pflashBlockdevs(input.firmware).flatMap((props) => ['-blockdev', json(props)]),
      ...(def.firmware.secureBoot ? ['-global', 'driver=cfi.pflash01,property=secure,value=on'] : []),
    ];
  },
};
