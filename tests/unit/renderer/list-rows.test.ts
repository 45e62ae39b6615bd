import { describe, expect, it } from 'vitest';
import { listRows, renderedSegments } from '../../../renderer/src/components/machines/list-rows';
import { groupByTag } from '../../../renderer/src/components/machines/tag-groups';
import { summary } from './helpers';

const web = summary('web', { tags: ['Lab', 'web'] });
const db = summary('db', { tags: ['lab'] });
const plain = summary('plain');
const all = (layout: ReturnType<typeof listRows>) => renderedSegments(layout, 0, layout.rows.length).flatMap((segment) => segment.rows);

describe('listRows', () => {
  it('a flat list: one row per VM, element ids from the VM id, the keyboard order as shown', () => {
    const layout = listRows([db, plain, web], null);
    expect(all(layout).map((row) => row.htmlId)).toEqual(['vm-row-id-db', 'vm-row-id-plain', 'vm-row-id-web']);
    expect(layout.order).toEqual(['id-db', 'id-plain', 'id-web']);
    expect(layout.rowOf.get('id-web')).toBe(2);
  });

  it('grouped: headings, a VM under each of its tags, unique element ids and keys, each VM once in the keyboard order', () => {
    const layout = listRows([db, plain, web], groupByTag([db, plain, web]));
    const rows = all(layout);
    expect(rows.map(({ row }) => (row.kind === 'group' ? `[${row.group.label}]` : row.vm.name))).toEqual(['[lab]', 'db', 'web', '[web]', 'web', '[No tag]', 'plain']);
    const ids = rows.map((row) => row.htmlId);
    expect(new Set(ids).size).toBe(ids.length);
    const keys = rows.map((row) => row.key);
    expect(new Set(keys).size).toBe(keys.length);
    // The first appearance carries the plain id (aria-activedescendant points there).
    expect(layout.rowOf.get('id-web')).toBe(2);
    expect(rows[2]!.htmlId).toBe('vm-row-id-web');
    expect(rows[4]!.htmlId).toBe('vm-row-id-web--web');
    expect(layout.order).toEqual(['id-db', 'id-web', 'id-plain']);
  });
});

describe('renderedSegments', () => {
  const many = listRows(
    Array.from({ length: 100 }, (_, i) => summary(`vm-${i}`)),
    null,
  );
  const indices = (segments: ReturnType<typeof renderedSegments>) => segments.flatMap((segment) => segment.rows.map(({ index }) => index));

  it('renders the window only', () => {
    const segments = renderedSegments(many, 40, 55);
    expect(segments).toHaveLength(1);
    expect(indices(segments)).toEqual(Array.from({ length: 15 }, (_, i) => 40 + i));
    expect(segments[0]!.groupKey).toBeNull();
  });

  it('adds a pinned row outside the window in list order, once', () => {
    expect(indices(renderedSegments(many, 40, 45, [3]))).toEqual([3, 40, 41, 42, 43, 44]);
    expect(indices(renderedSegments(many, 40, 45, [99]))).toEqual([40, 41, 42, 43, 44, 99]);
    expect(indices(renderedSegments(many, 40, 45, [42]))).toEqual([40, 41, 42, 43, 44]);
    expect(indices(renderedSegments(many, 40, 45, [-1, 100]))).toHaveLength(5);
  });

  it('splits grouped rows by group so each group gets one rowgroup', () => {
    const grouped = listRows([db, plain, web], groupByTag([db, plain, web]));
    expect(renderedSegments(grouped, 2, 7).map((segment) => [segment.groupKey, segment.rows.map(({ key }) => key)])).toEqual([
      ['lab', ['lab/id-web']],
      ['web', ['group:web', 'web/id-web']],
      ['', ['group:', '/id-plain']],
    ]);
  });
});
