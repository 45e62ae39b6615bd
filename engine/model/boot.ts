import * as z from 'zod';
import { VM_DEFAULTS } from './defaults';

export const BOOT_DEVICES = ['disk', 'cdrom', 'network'] as const;
export type BootDevice = (typeof BOOT_DEVICES)[number];

const bootDeviceSchema = z.enum(BOOT_DEVICES);

export const bootSchema = z.object({
  /** Kinds of device to try, in order; kinds the VM has no device of are skipped. */
  order: z
    .array(bootDeviceSchema)
    .default([...VM_DEFAULTS.bootOrder])
    .refine((order) => new Set(order).size === order.length, { message: 'boot order lists a device kind twice' }),
  /** Firmware boot menu (SeaBIOS F12 / OVMF). */
  menu: z.boolean().default(VM_DEFAULTS.bootMenu),
  /**
   * Boot from this kind first on the next start only (e.g. the installer CD). The runtime clears
   * it once the VM has started; until then the argv puts it ahead of `order`.
   */
  bootOnce: bootDeviceSchema.nullable().default(null),
});
export type Boot = z.output<typeof bootSchema>;

/** `bootOnce` first, then `order`, without repeats. */
export function effectiveBootOrder(boot: Pick<Boot, 'order' | 'bootOnce'>, options: { ignoreBootOnce?: boolean } = {}): BootDevice[] {
  const first = options.ignoreBootOnce || boot.bootOnce === null ? [] : [boot.bootOnce];
  return [...new Set([...first, ...boot.order])];
}
