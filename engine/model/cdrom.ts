import * as z from 'zod';
import { absolutePathSchema } from './common';
import { VM_DEFAULTS } from './defaults';
import { deviceIdSchema } from './names';

/** ide exists only on the pc machine. */
export const CDROM_BUSES = ['sata', 'ide', 'scsi'] as const;
export type CdromBus = (typeof CDROM_BUSES)[number];

export const cdromSchema = z.object({
  id: deviceIdSchema,
  bus: z.enum(CDROM_BUSES).default(VM_DEFAULTS.cdromBus),
  /** The ISO in the drive, or null for an empty drive (media can be changed while running). */
  media: absolutePathSchema.nullable().default(null),
});
export type Cdrom = z.output<typeof cdromSchema>;

/** What a caller gives: the id is generated (cdrom0, …) when absent. */
export const cdromInputSchema = cdromSchema.extend({ id: deviceIdSchema.optional() });
export type CdromInput = z.input<typeof cdromInputSchema>;
