import { describe, expect, it } from 'vitest';
import { assertSnapshotName, snapshotNameProblem, snapshotTag } from '../../../engine/vm/ops/snapshots';
import { thrown } from './helpers';

describe('snapshot names', () => {
  it('accepts ordinary names', () => {
    for (const name of ['before-upgrade', 'Fresh install (2)', 'v1.2_rc', '2']) expect(snapshotNameProblem(name)).toBeUndefined();
  });

  it('refuses empty, long, option-like and odd names, naming the field', () => {
    expect(snapshotNameProblem('')).toBe('is empty');
    expect(snapshotNameProblem('x'.repeat(65))).toMatch(/at most 64/);
    expect(snapshotNameProblem('-rf')).toMatch(/must not start/);
    expect(snapshotNameProblem('trailing ')).toMatch(/must not end with a space/);
    expect(snapshotNameProblem('a/b')).toMatch(/may only contain/);
    const error = thrown(() => assertSnapshotName('a;b'));
    expect(error.code).toBe('invalid-argument');
    expect(error.problems.map((p) => p.field)).toEqual(['name']);
  });

  it('tags images with the snapshot id, never with a name QEMU could read as a numeric id', () => {
    expect(snapshotTag('3d3d2875-8718-47cc-ab40-10d07f2576e0')).toBe('vd-3d3d2875-8718-47cc-ab40-10d07f2576e0');
  });
});
