import { assertJsonBounds } from '../../api/json-bounds';
import { VM_DEFINITION_BOUNDS } from '../../api/vm-api';
import { assertValidVmDefinition, parseVmDefinition, type VmDefinition } from '../../model';
import { EngineError } from '../../model/errors';
import { applyMergePatch } from '../definitions/merge-patch';
import { fillNewDevices } from '../definitions/new-devices';
import type { VmRegistry } from '../definitions/registry';
import { setBalloonTarget } from '../live/balloon';
import { addPendingRestart } from '../runtime/pending-restart';
import { assertNotTemplate } from './clone/template';

/** Fields a running VM takes without a restart: metadata, and the balloon target. */
const LIVE_FIELDS = ['name', 'description', 'tags', 'osId', 'autostart', 'memory.currentMiB'];
const isLive = (path: string) => LIVE_FIELDS.some((field) => path === field || path.startsWith(`${field}.`));

/**
 * Edits VM `ref` with an RFC 7396 merge patch: read-modify-write on the fresh definition inside the
 * store's lock, unknown fields kept, new devices given ids and MACs. On a running VM the balloon
 * follows at once and every other changed field is noted as waiting for a restart.
 */
export async function editVm(registry: VmRegistry, ref: string, patch: unknown, isRunning: (id: string) => Promise<boolean>): Promise<VmDefinition> {
  const current = await registry.resolve(ref);
  await assertNotTemplate(registry.home, current, 'edit');
  let changed: string[] = [];
  const otherMacs = new Set((await registry.definitions()).filter((def) => def.id !== current.id).flatMap((def) => def.nics.map((nic) => nic.mac.toLowerCase())));
  const updated = await registry.store.update(
    current.id,
    (fresh) => {
      const merged = applyMergePatch(fresh, patch);
      merged.value = fillNewDevices(merged.value, otherMacs);
      assertJsonBounds(merged.value, VM_DEFINITION_BOUNDS, `the definition of VM "${current.name}" after this edit`, 'Fields Virtdesk does not know are kept for other tools and count too: remove large ones by setting them to null in a patch.');
      changed = merged.changed;
      if (changed.some((path) => path === 'id' || path.startsWith('id.') || path === 'schemaVersion' || path === 'createdAt')) {
        throw new EngineError('invalid-argument', 'The id, createdAt and schemaVersion of a VM cannot be edited.');
      }
      return parseVmDefinition(merged.value);
    },
    {
      checkUnique: async (candidate, others) => assertValidVmDefinition(candidate, { others, host: await registry.hostLimits(candidate.machine) }),
    },
  );
  if (await isRunning(updated.id)) {
    const paths = registry.paths(updated);
    if (changed.includes('memory.currentMiB') && updated.balloon) await setBalloonTarget(updated, paths);
    const needRestart = changed.filter((path) => !isLive(path));
    if (needRestart.length > 0) await addPendingRestart(paths, needRestart);
  }
  return updated;
}
