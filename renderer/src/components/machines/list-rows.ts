import type { VmSummary } from '../../../../engine/api/vm-api';
import type { TagGroup } from './tag-groups';

/** One row of the VM list as laid out: a VM, or the heading of a tag group. */
export type ListRow =
  | { kind: 'vm'; key: string; vm: VmSummary; groupKey: string | null; htmlId: string }
  | { kind: 'group'; key: string; group: TagGroup; groupKey: string; htmlId: string };

export interface ListRows {
  rows: ListRow[];
  /** VM ids in display order, each once (where it first appears): what the keyboard walks. */
  order: string[];
  /** The row of each VM's first appearance: the one that carries its element id. */
  rowOf: Map<string, number>;
}

export const vmRowId = (id: string) => `vm-row-${id}`;

/**
 * The list's rows, flat or under tag headings (a VM with several tags appears under each; its
 * first row carries the element id, the others get the group appended, since ids must be unique).
 */
export function listRows(vms: readonly VmSummary[], groups: readonly TagGroup[] | null): ListRows {
  const rows: ListRow[] = [];
  const order: string[] = [];
  const rowOf = new Map<string, number>();
  const add = (vm: VmSummary, groupKey: string | null) => {
    const first = !rowOf.has(vm.id);
    if (first) {
      rowOf.set(vm.id, rows.length);
      order.push(vm.id);
    }
    const htmlId = first || groupKey === null ? vmRowId(vm.id) : `${vmRowId(vm.id)}--${groupKey}`;
    rows.push({ kind: 'vm', key: groupKey === null ? vm.id : `${groupKey}/${vm.id}`, vm, groupKey, htmlId });
  };
  if (!groups) {
    for (const vm of vms) add(vm, null);
    return { rows, order, rowOf };
  }
  for (const group of groups) {
    rows.push({ kind: 'group', key: `group:${group.key}`, group, groupKey: group.key, htmlId: `vm-group-head-${group.key}` });
    for (const vm of group.vms) add(vm, group.key);
  }
  return { rows, order, rowOf };
}

/** A run of consecutive rendered rows of one group (null: the flat list), with each row's index. */
export interface RowSegment {
  groupKey: string | null;
  rows: { row: ListRow; index: number }[];
}

/**
 * The rows to put in the DOM: `start`…`end` plus `pinned` rows elsewhere (the focused row, which
 * aria-activedescendant must find), in list order and split by group so each group's rows sit
 * in one rowgroup element.
 */
export function renderedSegments(rows: readonly ListRow[], start: number, end: number, pinned: readonly number[] = []): RowSegment[] {
  const indices: number[] = [];
  for (let i = Math.max(0, start); i < Math.min(end, rows.length); i++) indices.push(i);
  for (const index of pinned) if (index >= 0 && index < rows.length && (index < start || index >= end) && !indices.includes(index)) indices.push(index);
  indices.sort((a, b) => a - b);
  const segments: RowSegment[] = [];
  for (const index of indices) {
    const row = rows[index]!;
    const last = segments[segments.length - 1];
    if (last && last.groupKey === row.groupKey) last.rows.push({ row, index });
    else segments.push({ groupKey: row.groupKey, rows: [{ row, index }] });
  }
  return segments;
}
