import * as z from 'zod';
import { VM_DEFAULTS } from './defaults';

/** q35: PCIe chipset with AHCI (no IDE); pc: i440FX with PIIX IDE, for old guests. */
export const MACHINE_TYPES = ['q35', 'pc'] as const;
export type MachineType = (typeof MACHINE_TYPES)[number];
export const machineSchema = z.enum(MACHINE_TYPES).default(VM_DEFAULTS.machine);

/** auto = KVM when the host can run ordinary guests with it, else TCG (decided by engine/host). */
export const ACCELERATORS = ['auto', 'kvm', 'tcg'] as const;
export type Accelerator = (typeof ACCELERATORS)[number];
export const acceleratorSchema = z.enum(ACCELERATORS).default(VM_DEFAULTS.accelerator);
