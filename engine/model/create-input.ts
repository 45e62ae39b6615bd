import * as z from 'zod';
import { absolutePathSchema } from './common';
import { cdromInputSchema } from './cdrom';
import { vmDefinitionInputSchema } from './definition';
import { DISK_FORMATS, diskInputSchema } from './disk';
import { VM_DEFAULTS } from './defaults';

/** A disk image the engine creates for the VM, in `pool` (default: the default pool). */
export const diskCreateSchema = z.object({
  pool: z.string().min(1).max(64).optional(),
  sizeBytes: z.number().int().positive('the size of a new disk must be more than 0 bytes'),
  format: z.enum(DISK_FORMATS).default(VM_DEFAULTS.diskFormat),
});
export type DiskCreate = z.input<typeof diskCreateSchema>;

/** A disk of a new VM: an existing image (`source`) or one to create (`create`), never both. */
export const newDiskInputSchema = diskInputSchema
  .extend({
    source: absolutePathSchema.optional(),
    // The format of a created image is create.format; an existing image's defaults as usual.
    format: z.enum(DISK_FORMATS).optional(),
    create: diskCreateSchema.optional(),
  })
  .refine((disk) => (disk.source === undefined) !== (disk.create === undefined), {
    message: 'a disk needs either the path of an existing image (source) or an image to create (create), not both',
  });
export type NewDiskInput = z.input<typeof newDiskInputSchema>;

/** A CD-ROM of a new VM; `download` fetches the installer ISO into the ISO library first. */
export const newCdromInputSchema = cdromInputSchema.extend({
  download: z.object({ url: z.string().regex(/^https?:\/\/\S+$/i, 'the URL must start with http:// or https://') }).optional(),
});
export type NewCdromInput = z.input<typeof newCdromInputSchema>;

/**
 * What `vms.create` and `virtdesk vm create` take: a definition input whose disks may ask to
 * be created and whose CD-ROM may ask for a download. The engine does both, then the
 * definition, and removes what it made when a later step fails.
 */
export const vmCreateInputSchema = vmDefinitionInputSchema.extend({
  disks: z.array(newDiskInputSchema).default([]),
  cdroms: z.array(newCdromInputSchema).default([]),
});
export type VmCreateInput = z.input<typeof vmCreateInputSchema>;
/** The same after parsing: defaults filled, ready for the engine. */
export type VmCreateRequest = z.output<typeof vmCreateInputSchema>;
