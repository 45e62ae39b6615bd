import * as z from 'zod';
import { EngineError } from './errors';
import { parseOrThrow } from './parse';
import { balloonSchema } from './balloon';
import { bootSchema } from './boot';
import { cdromInputSchema, cdromSchema } from './cdrom';
import { cpuInputSchema, cpuSchema, resolveCpu } from './cpu';
import { VM_DEFAULTS } from './defaults';
import { directKernelSchema } from './direct-kernel';
import { diskInputSchema, diskSchema } from './disk';
import { displaySchema } from './display';
import { firmwareSchema } from './firmware';
import { generateMac } from './mac';
import { acceleratorSchema, machineSchema } from './machine';
import { memoryInputSchema, memorySchema, resolveMemory } from './memory';
import { vmNameSchema, nextDeviceId } from './names';
import { LINK_ROLES, nicInputSchema, nicSchema, type LinkRole } from './nic';
import { rngSchema } from './rng';
import { CURRENT_SCHEMA_VERSION, migrateVmDocument } from './schema-version';
import { serialSchema } from './serial';
import { tagsSchema } from './tags';
import { keepUnknownFields, unknownFieldPaths } from './unknown-fields';
import { assertValidVmDefinition, type HostLimits } from './validate';

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

export interface CreateVmContext {
  /** Every other definition: MACs and link ends are chosen free among them; names must differ. */
  existing?: readonly VmDefinition[];
  host?: HostLimits;
  /** Clock for createdAt (tests). */
  now?: () => Date;
}

/**
 * Builds a complete, validated definition from what a caller gives, filling every default.
 * Unknown fields are refused (they are typos here); all problems are reported at once.
 */
export function createVmDefinition(input: VmDefinitionInput, context: CreateVmContext = {}): VmDefinition {
  const parsed = parseOrThrow(vmDefinitionInputSchema, input, 'VM definition');
  const unknown = unknownFieldPaths(input, parsed);
  if (unknown.length > 0) {
    const hint = 'Check the spelling; `virtdesk vm show NAME --json` prints every field of a definition.';
    throw new EngineError('invalid-argument', `Unknown field${unknown.length > 1 ? 's' : ''} in the VM definition: ${unknown.join(', ')}`, {
      hint,
      problems: unknown.map((field) => ({ field, message: `Unknown field ${field}`, hint })),
    });
  }
  const existing = context.existing ?? [];

  const takenIds = new Set([...parsed.disks, ...parsed.cdroms, ...parsed.nics].flatMap((device) => (device.id === undefined ? [] : [device.id])));
  const withId = <T extends { id?: string | undefined }>(device: T, prefix: string): T & { id: string } => {
    if (device.id !== undefined) return device as T & { id: string };
    const id = nextDeviceId(prefix, takenIds);
    takenIds.add(id);
    return { ...device, id };
  };

  const takenMacs = new Set<string>([
    ...existing.flatMap((def) => def.nics.map((nic) => nic.mac)),
    ...parsed.nics.flatMap((nic) => (nic.mac === undefined ? [] : [nic.mac])),
  ]);
  const linkEnds = new Map<string, Set<LinkRole>>();
  const useEnd = (name: string, role: LinkRole) => {
    const ends = linkEnds.get(name) ?? new Set<LinkRole>();
    ends.add(role);
    linkEnds.set(name, ends);
  };
  for (const def of existing) for (const nic of def.nics) if (nic.network.kind === 'link') useEnd(nic.network.name, nic.network.role);
  for (const nic of parsed.nics) if (nic.network.kind === 'link' && nic.network.role !== undefined) useEnd(nic.network.name, nic.network.role);

  const nics = parsed.nics.map((nicInput) => {
    const nic = withId(nicInput, 'net');
    let mac = nic.mac;
    if (mac === undefined) {
      mac = generateMac(takenMacs);
      takenMacs.add(mac);
    }
    let network = nic.network;
    if (network.kind === 'link' && network.role === undefined) {
      const used = linkEnds.get(network.name) ?? new Set<LinkRole>();
      // With both ends taken this picks 'a' and validation explains that the link is full.
      const role = LINK_ROLES.find((candidate) => !used.has(candidate)) ?? 'a';
      useEnd(network.name, role);
      network = { ...network, role };
    }
    return { id: nic.id, mac, model: nic.model, network };
  });

  const definition = parseOrThrow(
    vmDefinitionSchema,
    {
      schemaVersion: CURRENT_SCHEMA_VERSION,
      id: parsed.id ?? globalThis.crypto.randomUUID(),
      name: parsed.name,
      description: parsed.description,
      tags: parsed.tags,
      osId: parsed.osId,
      createdAt: parsed.createdAt ?? (context.now?.() ?? new Date()).toISOString(),
      firmware: parsed.firmware,
      machine: parsed.machine,
      accelerator: parsed.accelerator,
      cpu: resolveCpu(parsed.cpu),
      memory: resolveMemory(parsed.memory),
      boot: parsed.boot,
      directKernel: parsed.directKernel,
      disks: parsed.disks.map((disk) => withId(disk, 'disk')),
      cdroms: parsed.cdroms.map((cdrom) => withId(cdrom, 'cdrom')),
      nics,
      display: parsed.display,
      serial: parsed.serial,
      balloon: parsed.balloon,
      rng: parsed.rng,
      autostart: parsed.autostart,
    },
    'VM definition',
  );
  assertValidVmDefinition(definition, { others: existing, ...(context.host ? { host: context.host } : {}) });
  return definition;
}

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
