import type { ArgvStep } from './context';
import { QEMU_IDS } from './ids';
import { optionList } from './qemu-option';

/**
 * The chipset and accelerator. vmport off (no VMware backdoor), guest memory left out of QEMU
 * core dumps, Secure Boot's SMM, and the UEFI pflash nodes. The RTC runs in UTC and catches up
 * (slew) after the host was busy, as virt-manager sets it; under KVM, lost PIT ticks are delayed.
 */
export const machineStep: ArgvStep = {
  name: 'machine',
  build: ({ def, input }) => {
    const uefi = def.firmware.type === 'uefi';
    return [
      '-machine',
      optionList([
        ['type', input.options?.machineType ?? def.machine],
        ['usb', false],
        ['vmport', false],
        ['dump-guest-core', false],
        ['smm', def.firmware.secureBoot ? true : undefined],
        ['pflash0', uefi ? QEMU_IDS.pflashCode : undefined],
        ['pflash1', uefi ? QEMU_IDS.pflashVars : undefined],
      ]),
      '-accel',
      input.accel,
      '-rtc',
      'base=utc,driftfix=slew',
      ...(input.accel === 'kvm' ? ['-global', 'kvm-pit.lost_tick_policy=delay'] : []),
    ];
  },
};
