import { describe, expect, it } from 'vitest';
import { listRows, renderedSegments } from '../../../renderer/src/components/machines/list-rows';
import { groupByTag } from '../../../renderer/src/components/machines/tag-groups';
import { summary } from './helpers';

const web = summary('web', { tags: ['Lab', 'web'] });
const db = summary('db', { tags: ['lab'] });
const plain = summary('plain');

describe('listRows', () => {
  it('a flat list: one row per VM, element ids from the VM id, the keyboard order as shown', () => {
    const { rows, order, rowOf } = listRows([db, plain, web], null);
    expect(rows.map((row) => row.htmlId)).toEqual(['vm-row-id-db', 'vm-row-id-plain', 'vm-row-id-web']);
    expect(order).toEqual(['id-db', 'id-plain', 'id-web']);
    expect(rowOf.get('id-web')).toBe(2);
  });

  it('grouped: headings, a VM under each of its tags, unique element ids, each VM once in the keyboard order', () => {
    const { rows, order, rowOf } = listRows([db, plain, web], groupByTag([db, plain, web]));
    expect(rows.map((row) => (row.kind === 'group' ? `[${row.group.label}]` : row.vm.name))).toEqual(['[lab]', 'db', 'web', '[web]', 'web', '[No tag]', 'plain']);
    const ids = rows.map((row) => row.htmlId);
    expect(new Set(ids).size).toBe(ids.length);
    // The first appearance carries the plain id (aria-activedescendant points there).
    expect(rows[rowOf.get('id-web')!]!.htmlId).toBe('vm-row-id-web');
    expect(rowOf.get('id-web')).toBe(2);
    expect(order).toEqual(['id-db', 'id-web', 'id-plain']);
    const keys = rows.map((row) => row.key);
    expect(new Set(keys).size).toBe(keys.length);
  });
});

describe('renderedSegments', () => {
  const many = Array.from({ length: 100 }, (_, i) => summary(`vm-${i}`));
  const { rows } = listRows(many, null);

  it('renders the window only', () => {
    const segments = renderedSegments(rows, 40, 55);
    expect(segments).toHaveLength(1);
    expect(segments[0]!.rows.map(({ index }) => index)).toEqual(Array.from({ length: 15 }, (_, i) => 40 + i));
    expect(segments[0]!.groupKey).toBeNull();
  });

  it('adds a pinned row outside the window in list order, once', () => {
    expect(renderedSegments(rows, 40, 45, [3])[0]!.rows.map(({ index }) => index)).toEqual([3, 40, 41, 42, 43, 44]);
    expect(renderedSegments(rows, 40, 45, [99])[0]!.rows.map(({ index }) => index)).toEqual([40, 41, 42, 43, 44, 99]);
    expect(renderedSegments(rows, 40, 45, [42])[0]!.rows.map(({ index }) => index)).toEqual([40, 41, 42, 43, 44]);
    expect(renderedSegments(rows, 40, 45, [-1, 100])[0]!.rows).toHaveLength(5);
  });

  it('splits grouped rows by group so each group gets one rowgroup', () => {
    const grouped = listRows([db, plain, web], groupByTag([db, plain, web])).rows;
    const segments = renderedSegments(grouped, 2, 7);
    expect(segments.map((segment) => [segment.groupKey, segment.rows.map(({ row }) => row.key)])).toEqual([
      ['lab', ['lab/id-web']],
      ['web', ['group:web', 'web/id-web']],
      ['', ['group:', '/id-plain']],
    ]);
  });
});
