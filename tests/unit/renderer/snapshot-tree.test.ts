import { describe, expect, it } from 'vitest';
import type { VmSnapshot } from '../../../engine/api/vm-api';
import { snapshotTree, suggestSnapshotName, visibleNodes } from '../../../renderer/src/components/machines/details/snapshot-tree';

let clock = 0;
function snap(id: string, parentId: string | null, fields: Partial<VmSnapshot> = {}): VmSnapshot {
  clock++;
  return {
    id,
    name: id,
    description: '',
    createdAt: `2026-01-01T00:00:${String(clock).padStart(2, '0')}.000Z`,
    parentId,
    kind: 'disk-only',
    vmState: 'stopped',
    current: false,
    disks: [],
    skipped: [],
    machineType: null,
    hasThumbnail: false,
    definition: null,
    ...fields,
  };
}

const order = (nodes: { snapshot: VmSnapshot; level: number }[]) => nodes.map((node) => `${'  '.repeat(node.level - 1)}${node.snapshot.id}`);

describe('snapshotTree', () => {
  it('places children under their parent, depth first, oldest first, with ARIA positions', () => {
    const a = snap('a', null);
    const b = snap('b', 'a');
    const c = snap('c', 'a');
    const d = snap('d', 'b');
    const e = snap('e', null);
    // The engine lists oldest first, but the tree must not depend on it.
    const nodes = snapshotTree([e, d, c, b, a]);
    expect(order(nodes)).toEqual(['a', '  b', '    d', '  c', 'e']);
    const byId = new Map(nodes.map((node) => [node.snapshot.id, node]));
    expect(byId.get('a')).toMatchObject({ level: 1, position: 1, siblings: 2, childIds: ['b', 'c'], parentId: null });
    expect(byId.get('c')).toMatchObject({ level: 2, position: 2, siblings: 2, childIds: [], parentId: 'a' });
    expect(byId.get('e')).toMatchObject({ level: 1, position: 2, siblings: 2 });
  });

  it('shows a snapshot whose parent record is missing as a root, and survives a parent loop', () => {
    const orphan = snap('orphan', 'gone');
    const x = snap('x', 'y');
    const y = snap('y', 'x');
    const self = snap('self', 'self');
    const nodes = snapshotTree([orphan, x, y, self]);
    expect(nodes.map((node) => node.snapshot.id).sort()).toEqual(['orphan', 'self', 'x', 'y']);
    expect(nodes.find((node) => node.snapshot.id === 'orphan')).toMatchObject({ level: 1, parentId: null });
    expect(nodes.find((node) => node.snapshot.id === 'self')).toMatchObject({ level: 1, parentId: null });
  });
});

describe('visibleNodes', () => {
  it('hides the descendants of closed branches only', () => {
    const nodes = snapshotTree([snap('a', null), snap('b', 'a'), snap('c', 'b'), snap('d', 'a'), snap('e', null)]);
    expect(order(visibleNodes(nodes, new Set()))).toEqual(['a', '  b', '    c', '  d', 'e']);
    expect(order(visibleNodes(nodes, new Set(['b'])))).toEqual(['a', '  b', '  d', 'e']);
    expect(order(visibleNodes(nodes, new Set(['a'])))).toEqual(['a', 'e']);
    // A leaf in the set changes nothing.
    expect(order(visibleNodes(nodes, new Set(['e'])))).toHaveLength(5);
  });
});

describe('suggestSnapshotName', () => {
  it('offers snapshot-N after the existing count, skipping names in use', () => {
    expect(suggestSnapshotName([])).toBe('snapshot-1');
    expect(suggestSnapshotName(['booted'])).toBe('snapshot-2');
    expect(suggestSnapshotName(['snapshot-2', 'x'])).toBe('snapshot-3');
    expect(suggestSnapshotName(['snapshot-3', 'snapshot-4', 'y'])).toBe('snapshot-5');
  });
});
