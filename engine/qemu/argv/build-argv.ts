import type { VmDefinition } from '../../model/definition';
import { balloonStep } from './balloon';
import { planBootIndexes } from './boot-index';
import { bootStep } from './boot';
import { assertArgvDevicesAvailable } from './caps';
import { cdromsStep } from './cdroms';
import type { ArgvContext, ArgvStep } from './context';
import { controllersStep } from './controllers';
import { cpuStep } from './cpu';
import { disksStep } from './disks';
import { displayStep } from './display';
import { planDriveSlots, type DriveSlot } from './drive-slots';
import { firmwareStep } from './firmware';
import { headerStep } from './header';
import { machineStep } from './machine';
import { memoryStep } from './memory';
import { nicsStep } from './nics';
import { planPci, type PciLayout } from './pci-layout';
import { qmpStep } from './qmp';
import { rngStep } from './rng';
import { serialStep } from './serial';
import { assertSocketPathsFit } from './socket-paths';
import type { ArgvInput } from './types';
import { usbTabletStep } from './usb-tablet';

/** The command line, in order. Root ports and controllers come before the devices plugged into them. */
export const ARGV_STEPS: readonly ArgvStep[] = [
  headerStep,
  qmpStep,
  firmwareStep,
  machineStep,
  cpuStep,
  memoryStep,
  bootStep,
  displayStep,
  controllersStep,
  disksStep,
  cdromsStep,
  nicsStep,
  usbTabletStep,
  serialStep,
  balloonStep,
  rngStep,
];

export interface DeviceLayout {
  pci: PciLayout;
  drives: ReadonlyMap<string, DriveSlot>;
  bootIndex: ReadonlyMap<string, number>;
}

/** Where every device goes; the same plan tells hot-plug which root ports are free. */
export function planDeviceLayout(def: VmDefinition): DeviceLayout {
  return { pci: planPci(def), drives: planDriveSlots(def), bootIndex: planBootIndexes(def) };
}

/**
 * The arguments for qemu-system-x86_64 (without the binary) that run `input.definition`, paused
 * (`-S`) until the supervisor sends `cont`. Throws EngineError when QEMU lacks a device, a socket
 * path is too long, or a NIC's backend or the UEFI firmware was not resolved.
 */
export function buildQemuArgv(input: ArgvInput): string[] {
  assertSocketPathsFit(input);
  const ctx: ArgvContext = { input, def: input.definition, ...planDeviceLayout(input.definition) };
  const argv = ARGV_STEPS.flatMap((step) => step.build(ctx));
  assertArgvDevicesAvailable(argv, input.caps);
  return argv;
}
