// A new VM's definition from what a caller gives: ids, MACs and link ends chosen, every default
// filled, then checked against the cross-field rules. Kept apart from definition.ts so the
// schemas do not import the validator that reads them.
import { EngineError } from './errors';
import { parseOrThrow } from './parse';
import { resolveCpu } from './cpu';
import { vmDefinitionInputSchema, vmDefinitionSchema, type VmDefinition, type VmDefinitionInput } from './definition';
import { generateMac } from './mac';
import { resolveMemory } from './memory';
import { nextDeviceId } from './names';
import { LINK_ROLES, type LinkRole } from './nic';
import { CURRENT_SCHEMA_VERSION } from './schema-version';
import { unknownFieldPaths } from './unknown-fields';
import { assertValidVmDefinition, type HostLimits } from './validate';

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
