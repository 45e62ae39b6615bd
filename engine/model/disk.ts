import * as z from 'zod';
import { absolutePathSchema } from './common';
import { VM_DEFAULTS } from './defaults';
import { deviceIdSchema } from './names';

export const DISK_FORMATS = ['qcow2', 'raw'] as const;
export type DiskFormat = (typeof DISK_FORMATS)[number];
/** ide exists only on the pc machine (q35 has AHCI, i.e. sata). */
export const DISK_BUSES = ['virtio', 'scsi', 'sata', 'ide'] as const;
export type DiskBus = (typeof DISK_BUSES)[number];
/** libvirt's cache modes; see engine/qemu/argv for what each means to QEMU. */
export const DISK_CACHE_MODES = ['none', 'writeback', 'writethrough', 'directsync', 'unsafe'] as const;
export type DiskCacheMode = (typeof DISK_CACHE_MODES)[number];
/** unmap: guest TRIM frees space in the image; ignore: TRIM is dropped. */
export const DISCARD_MODES = ['unmap', 'ignore'] as const;
export type DiscardMode = (typeof DISCARD_MODES)[number];

/** The serial the guest sees (/dev/disk/by-id); QEMU keeps 20 bytes for virtio-blk and IDE. */
export const diskSerialSchema = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,20}$/, 'disk serial must be 1-20 letters, digits, ".", "_" or "-"');

export const diskSchema = z.object({
  id: deviceIdSchema,
  /** The image file on the host. */
  source: absolutePathSchema,
  format: z.enum(DISK_FORMATS).default(VM_DEFAULTS.diskFormat),
  bus: z.enum(DISK_BUSES).default(VM_DEFAULTS.diskBus),
  cache: z.enum(DISK_CACHE_MODES).default(VM_DEFAULTS.diskCache),
  readOnly: z.boolean().default(VM_DEFAULTS.diskReadOnly),
  discard: z.enum(DISCARD_MODES).default(VM_DEFAULTS.diskDiscard),
  serial: diskSerialSchema.optional(),
});
export type Disk = z.output<typeof diskSchema>;

/** What a caller gives: the id is generated (disk0, disk1, …) when absent. */
export const diskInputSchema = diskSchema.extend({ id: deviceIdSchema.optional() });
export type DiskInput = z.input<typeof diskInputSchema>;
