import type { VmSnapshot } from '../../../../../engine/api/vm-api';

/** One snapshot placed in its tree, in the order a tree view shows it (depth first, oldest first). */
export interface SnapshotNode {
  snapshot: VmSnapshot;
  /** 1 for a root (aria-level). */
  level: number;
  /** The parent as shown: null for a root, also when the recorded parent is missing. */
  parentId: string | null;
  childIds: string[];
  /** Position among its siblings, from 1, and how many siblings there are (aria-posinset, aria-setsize). */
  position: number;
  siblings: number;
}

/**
 * The snapshots of a VM as a tree from their `parentId`s. A snapshot whose parent is not in the
 * list (a record that failed to load) is shown as a root rather than lost; a parent loop, which
 * the engine never writes, cannot hang the view.
 */
export function snapshotTree(snapshots: readonly VmSnapshot[]): SnapshotNode[] {
  const byId = new Map(snapshots.map((snapshot) => [snapshot.id, snapshot]));
  const children = new Map<string | null, VmSnapshot[]>();
  for (const snapshot of snapshots) {
    const parent = snapshot.parentId !== null && byId.has(snapshot.parentId) && snapshot.parentId !== snapshot.id ? snapshot.parentId : null;
    const list = children.get(parent) ?? [];
    list.push(snapshot);
    children.set(parent, list);
  }
  const oldestFirst = (a: VmSnapshot, b: VmSnapshot) => a.createdAt.localeCompare(b.createdAt) || a.name.localeCompare(b.name);
  for (const list of children.values()) list.sort(oldestFirst);

  const out: SnapshotNode[] = [];
  const placed = new Set<string>();
  const visit = (parentId: string | null, level: number) => {
    const list = (children.get(parentId) ?? []).filter((snapshot) => !placed.has(snapshot.id));
    list.forEach((snapshot, index) => {
      placed.add(snapshot.id);
      out.push({
        snapshot,
        level,
        parentId,
        childIds: (children.get(snapshot.id) ?? []).map((child) => child.id),
        position: index + 1,
        siblings: list.length,
      });
      visit(snapshot.id, level + 1);
    });
  };
  visit(null, 1);
  // Snapshots only reachable through a loop: shown as roots so nothing disappears.
  for (const snapshot of snapshots.filter((s) => !placed.has(s.id)).sort(oldestFirst)) {
    placed.add(snapshot.id);
    out.push({ snapshot, level: 1, parentId: null, childIds: [], position: 1, siblings: 1 });
  }
  return out;
}

/** The rows a tree view shows when the nodes in `collapsed` hide their descendants. */
export function visibleNodes(nodes: readonly SnapshotNode[], collapsed: ReadonlySet<string>): SnapshotNode[] {
  const out: SnapshotNode[] = [];
  let hiddenBelowLevel: number | undefined;
  for (const node of nodes) {
    if (hiddenBelowLevel !== undefined) {
      if (node.level > hiddenBelowLevel) continue;
      hiddenBelowLevel = undefined;
    }
    out.push(node);
    if (collapsed.has(node.snapshot.id) && node.childIds.length > 0) hiddenBelowLevel = node.level;
  }
  return out;
}

/** A free name to offer: `snapshot-N`, N one more than the number of snapshots (or the next free one). */
export function suggestSnapshotName(existing: readonly string[]): string {
  const taken = new Set(existing);
  for (let n = existing.length + 1; ; n++) {
    const name = `snapshot-${n}`;
    if (!taken.has(name)) return name;
  }
}
