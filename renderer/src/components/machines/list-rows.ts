import type { VmSummary } from '../../../../engine/api/vm-api';
import type { TagGroup } from './tag-groups';

/** One row of the VM list as laid out: a VM, or the heading of a tag group. */
export type ListRow = { kind: 'vm'; vm: VmSummary; groupKey: string | null } | { kind: 'group'; group: TagGroup; groupKey: string };

export interface ListRows {
  rows: ListRow[];
  /** VM ids in display order, each once (where it first appears): what the keyboard walks. */
  order: string[];
  /** The row of each VM's first appearance: the one that carries its element id. */
  rowOf: Map<string, number>;
}

export const vmRowId = (id: string) => `vm-row-${id}`;

/**
 * The list's rows, flat or under tag headings (a VM with several tags appears under each).
 * Only what every row needs: keys and element ids are made for the rendered rows alone.
 */
export function listRows(vms: readonly VmSummary[], groups: readonly TagGroup[] | null): ListRows {
  const rows: ListRow[] = [];
  const order: string[] = [];
  const rowOf = new Map<string, number>();
  const add = (vm: VmSummary, groupKey: string | null) => {
    if (!rowOf.has(vm.id)) {
      rowOf.set(vm.id, rows.length);
      order.push(vm.id);
    }
    rows.push({ kind: 'vm', vm, groupKey });
  };
  if (!groups) {
    for (const vm of vms) add(vm, null);
    return { rows, order, rowOf };
  }
  for (const group of groups) {
    rows.push({ kind: 'group', group, groupKey: group.key });
    for (const vm of group.vms) add(vm, group.key);
  }
  return { rows, order, rowOf };
}

/** A rendered row: its place in the list, a key unique in the list, and its element id. */
export interface RenderedRow {
  row: ListRow;
  index: number;
  key: string;
  htmlId: string;
}

/**
 * A VM's first row carries `vm-row-<id>` (what aria-activedescendant points at); its rows under
 * later tags get the group appended, since element ids must be unique.
 */
function rendered({ rows, rowOf }: ListRows, index: number): RenderedRow {
  const row = rows[index]!;
  if (row.kind === 'group') return { row, index, key: `group:${row.groupKey}`, htmlId: `vm-group-head-${row.groupKey}` };
  const { id } = row.vm;
  if (row.groupKey === null) return { row, index, key: id, htmlId: vmRowId(id) };
  return { row, index, key: `${row.groupKey}/${id}`, htmlId: rowOf.get(id) === index ? vmRowId(id) : `${vmRowId(id)}--${row.groupKey}` };
}

/** A run of consecutive rendered rows of one group (null: the flat list). */
export interface RowSegment {
  groupKey: string | null;
  rows: RenderedRow[];
}

/**
 * The rows to put in the DOM: `start`…`end` plus `pinned` rows elsewhere (the focused row, which
 * aria-activedescendant must find), in list order and split by group so each group's rows sit
 * in one rowgroup element.
 */
export function renderedSegments(layout: ListRows, start: number, end: number, pinned: readonly number[] = []): RowSegment[] {
  const { rows } = layout;
  const indices: number[] = [];
  for (let i = Math.max(0, start); i < Math.min(end, rows.length); i++) indices.push(i);
  for (const index of pinned) if (index >= 0 && index < rows.length && (index < start || index >= end) && !indices.includes(index)) indices.push(index);
  indices.sort((a, b) => a - b);
  const segments: RowSegment[] = [];
  for (const index of indices) {
    const each = rendered(layout, index);
    const last = segments[segments.length - 1];
    if (last && last.groupKey === each.row.groupKey) last.rows.push(each);
    else segments.push({ groupKey: each.row.groupKey, rows: [each] });
  }
  return segments;
}
