import * as z from 'zod';
import { VM_DEFAULTS } from './defaults';

export const FIRMWARE_TYPES = ['bios', 'uefi'] as const;
export type FirmwareType = (typeof FIRMWARE_TYPES)[number];

export const firmwareSchema = z.object({
  /** bios = SeaBIOS; uefi = OVMF with a per-VM NVRAM file (paths resolved by the host probe). */
  type: z.enum(FIRMWARE_TYPES).default(VM_DEFAULTS.firmware),
  /** UEFI Secure Boot (OVMF built with SMM; needs q35). */
  secureBoot: z.boolean().default(VM_DEFAULTS.secureBoot),
});
export type Firmware = z.output<typeof firmwareSchema>;
