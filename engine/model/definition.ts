import * as z from 'zod';
import { parseOrThrow } from './parse';
import { balloonSchema } from './balloon';
import { bootSchema } from './boot';
import { cdromInputSchema, cdromSchema } from './cdrom';
import { cpuInputSchema, cpuSchema } from './cpu';
import { VM_DEFAULTS } from './defaults';
import { directKernelSchema } from './direct-kernel';
import { diskInputSchema, diskSchema } from './disk';
import { displaySchema } from './display';
import { firmwareSchema } from './firmware';
import { acceleratorSchema, machineSchema } from './machine';
import { memoryInputSchema, memorySchema } from './memory';
import { vmNameSchema } from './names';
import { nicInputSchema, nicSchema } from './nic';
import { rngSchema } from './rng';
import { CURRENT_SCHEMA_VERSION, migrateVmDocument } from './schema-version';
import { serialSchema } from './serial';
import { tagsSchema } from './tags';
import { keepUnknownFields } from './unknown-fields';

// engine/model has no Node imports: engine/api (bundled into the renderer) uses its schemas.

/** Lower-case only: the id names the VM's folder (see engine/store). New ids are random v4 UUIDs. */
export const vmIdSchema = z
  .string()
  .regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, 'VM id must be a lower-case UUID');

/** libosinfo short ids: debian12, win11, ubuntu22.04, fedora-rawhide, … */
export const osIdSchema = z.string().regex(/^[a-z0-9][a-z0-9._+-]{0,63}$/, 'OS id must be a libosinfo short id such as debian12 or win11');

const descriptionSchema = z.string().max(4096, 'description must be at most 4096 characters').default(VM_DEFAULTS.description);
const autostartSchema = z.boolean().default(VM_DEFAULTS.autostart);

/** A stored VM definition (vm.json), complete. Fields added later get defaults here, not migrations. */
export const vmDefinitionSchema = z.object({
  schemaVersion: z.literal(CURRENT_SCHEMA_VERSION),
  id: vmIdSchema,
  name: vmNameSchema,
  description: descriptionSchema,
  tags: tagsSchema,
  osId: osIdSchema.nullable().default(null),
  createdAt: z.iso.datetime({ offset: true }),
  firmware: firmwareSchema.prefault({}),
  machine: machineSchema,
  accelerator: acceleratorSchema,
  cpu: cpuSchema,
  memory: memorySchema,
  boot: bootSchema.prefault({}),
  directKernel: directKernelSchema.nullable().default(null),
  disks: z.array(diskSchema).default([]),
  cdroms: z.array(cdromSchema).default([]),
  nics: z.array(nicSchema).default([]),
  display: displaySchema.prefault({}),
  serial: serialSchema,
  balloon: balloonSchema,
  rng: rngSchema,
  autostart: autostartSchema,
});
export type VmDefinition = z.output<typeof vmDefinitionSchema>;

/**
 * What a caller (wizard, CLI, tests) gives to create a VM: a name and whatever it wants to
 * differ from the defaults. Ids, MACs, createdAt, the CPU topology and current memory are
 * derived by createVmDefinition.
 */
export const vmDefinitionInputSchema = z.object({
  schemaVersion: z.literal(CURRENT_SCHEMA_VERSION).optional(),
  id: vmIdSchema.optional(),
  name: vmNameSchema,
  description: descriptionSchema,
  tags: tagsSchema,
  osId: osIdSchema.nullable().default(null),
  createdAt: z.iso.datetime({ offset: true }).optional(),
  firmware: firmwareSchema.prefault({}),
  machine: machineSchema,
  accelerator: acceleratorSchema,
  cpu: cpuInputSchema.prefault({}),
  memory: memoryInputSchema.prefault({}),
  boot: bootSchema.prefault({}),
  directKernel: directKernelSchema.nullable().default(null),
  disks: z.array(diskInputSchema).default([]),
  cdroms: z.array(cdromInputSchema).default([]),
  /** Default: one virtio NIC on user-mode NAT. `[]` means no network. */
  nics: z.array(nicInputSchema).prefault([{}]),
  display: displaySchema.prefault({}),
  serial: serialSchema,
  balloon: balloonSchema,
  rng: rngSchema,
  autostart: autostartSchema,
});
export type VmDefinitionInput = z.input<typeof vmDefinitionInputSchema>;

/**
 * Parses a stored document (vm.json): migrates an older schemaVersion, applies defaults for
 * fields it lacks, refuses invalid values naming each field, and keeps fields this version does
 * not know (house rule 8). Cross-field rules are not applied here, so a definition that breaks
 * one still loads and can be fixed; check validateVmDefinition before starting a VM.
 */
export function parseVmDefinition(raw: unknown): VmDefinition {
  const migrated = migrateVmDocument(raw as Record<string, unknown>);
  const parsed = parseOrThrow(vmDefinitionSchema, migrated, 'VM definition');
  return keepUnknownFields(migrated, parsed);
}
