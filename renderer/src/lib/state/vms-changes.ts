import type { VmSummary } from '../../../../engine/api/vm-api';

/**
 * The list after a `vms.changed` event, from the entries it carries: an edited VM's row replaced,
 * a deleted VM's row dropped, the order kept. Undefined when only a reload can say: the event
 * carried no entries, or a VM is new or renamed (its place in the sorted list moves).
 */
export function applyVmChanges(items: readonly VmSummary[], ids: readonly string[], summaries: readonly VmSummary[] | undefined): VmSummary[] | undefined {
  if (!summaries) return undefined;
  const known = new Map(items.map((vm) => [vm.id, vm]));
  if (summaries.some((vm) => known.get(vm.id)?.name !== vm.name)) return undefined;
  const changed = new Map(summaries.map((vm) => [vm.id, vm]));
  const gone = new Set(ids.filter((id) => !changed.has(id)));
  return items.filter((vm) => !gone.has(vm.id)).map((vm) => changed.get(vm.id) ?? vm);
}
