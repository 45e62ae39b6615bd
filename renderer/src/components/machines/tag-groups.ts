import { tagKey, type VmSummary } from '../../../../engine/api/vm-api';

/** One heading of the list grouped by tag; `key` is '' for the untagged group. */
export interface TagGroup {
  key: string;
  label: string;
  vms: VmSummary[];
}

/** Tags in use, once each (first spelling wins, as tags ignore case), sorted. */
export function tagsInUse(vms: readonly VmSummary[]): string[] {
  const byKey = new Map<string, string>();
  for (const vm of vms) for (const tag of vm.tags) if (!byKey.has(tagKey(tag))) byKey.set(tagKey(tag), tag);
  return [...byKey.values()].sort((a, b) => a.localeCompare(b));
}

/** Rows under tag headings: a VM with several tags appears under each; untagged ones last under "No tag". */
export function groupByTag(vms: readonly VmSummary[]): TagGroup[] {
  const groups = tagsInUse(vms).map((tag) => ({ key: tagKey(tag), label: tag, vms: vms.filter((vm) => vm.tags.some((t) => tagKey(t) === tagKey(tag))) }));
  const untagged = vms.filter((vm) => vm.tags.length === 0);
  if (untagged.length > 0) groups.push({ key: '', label: 'No tag', vms: untagged });
  return groups;
}

/** For each VM, the group whose row of it carries the element id (ids must be unique). */
export function firstGroupOf(groups: readonly TagGroup[] | null): ReadonlyMap<string, string> {
  const first = new Map<string, string>();
  for (const group of groups ?? []) for (const vm of group.vms) if (!first.has(vm.id)) first.set(vm.id, group.key);
  return first;
}
