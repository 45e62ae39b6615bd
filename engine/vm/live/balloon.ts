import type { VmDefinition } from '../../model';
import { withCommandQmp } from '../runtime/qmp-session';
import type { VmRuntimePaths } from '../runtime/paths';

/** Asks a running VM's balloon for its current memory target (`memory.currentMiB`). */
export async function setBalloonTarget(def: Pick<VmDefinition, 'name' | 'memory'>, paths: VmRuntimePaths): Promise<void> {
  await withCommandQmp(paths, def.name, (qmp) => qmp.setBalloonBytes(def.memory.currentMiB * 1024 * 1024));
}
