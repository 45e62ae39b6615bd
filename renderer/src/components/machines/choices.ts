import { vmDetailsSchema } from '../../../../engine/api/vm-api';
import type { Cdrom, Disk, Nic, VmDefinition } from '../../lib/machines/types';

/**
 * The values each enumerated field of a definition accepts, read from the engine's own schema
 * (engine/api carries it), so the editors offer exactly what the engine takes.
 */
interface SchemaNode {
  _zod: { def: { type: string; innerType?: SchemaNode; in?: SchemaNode; element?: SchemaNode; shape?: Record<string, SchemaNode>; entries?: Record<string, string> } };
}

const WRAPPERS = new Set(['default', 'prefault', 'optional', 'nullable', 'pipe', 'readonly']);

function unwrap(node: SchemaNode): SchemaNode {
  let current = node;
  while (WRAPPERS.has(current._zod.def.type)) {
    const def = current._zod.def;
    const inner = def.type === 'pipe' ? def.in : def.innerType;
    if (!inner) break;
    current = inner;
  }
  return current;
}

function enumAt<T extends string>(path: readonly string[]): readonly T[] {
  let node = vmDetailsSchema.shape.definition as unknown as SchemaNode;
  for (const step of path) {
    const def = unwrap(node)._zod.def;
    const next = step === '[]' ? def.element : def.shape?.[step];
    if (!next) throw new Error(`No field ${path.join('.')} in the VM definition schema`);
    node = next;
  }
  const def = unwrap(node)._zod.def;
  if (def.type !== 'enum' || !def.entries) throw new Error(`Field ${path.join('.')} is not an enumeration`);
  return Object.values(def.entries) as T[];
}

export const CHOICES = {
  machine: enumAt<VmDefinition['machine']>(['machine']),
  accelerator: enumAt<VmDefinition['accelerator']>(['accelerator']),
  firmware: enumAt<VmDefinition['firmware']['type']>(['firmware', 'type']),
  bootDevice: enumAt<VmDefinition['boot']['order'][number]>(['boot', 'order', '[]']),
  diskBus: enumAt<Disk['bus']>(['disks', '[]', 'bus']),
  diskFormat: enumAt<Disk['format']>(['disks', '[]', 'format']),
  diskCache: enumAt<Disk['cache']>(['disks', '[]', 'cache']),
  diskDiscard: enumAt<Disk['discard']>(['disks', '[]', 'discard']),
  cdromBus: enumAt<Cdrom['bus']>(['cdroms', '[]', 'bus']),
  nicModel: enumAt<Nic['model']>(['nics', '[]', 'model']),
  video: enumAt<VmDefinition['display']['video']>(['display', 'video']),
} as const;
