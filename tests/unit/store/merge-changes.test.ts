import { describe, expect, it } from 'vitest';
import { deepEqual, mergeChanges } from '../../../engine/store/merge-changes';

describe('deepEqual', () => {
  it('compares JSON values structurally and treats undefined keys as absent', () => {
    expect(deepEqual({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] })).toBe(true);
    expect(deepEqual({ a: 1, b: undefined }, { a: 1 })).toBe(true);
    expect(deepEqual({ a: [1, 2] }, { a: [2, 1] })).toBe(false);
    expect(deepEqual({ a: 1 }, { a: '1' })).toBe(false);
    expect(deepEqual([], {})).toBe(false);
    expect(deepEqual(null, {})).toBe(false);
  });
});

describe('mergeChanges', () => {
  it('returns the stored form untouched when nothing changed', () => {
    const stored = { a: 1, unknown: true };
    expect(mergeChanges(stored, { a: 1 }, { a: 1 })).toBe(stored);
  });

  it('changes only changed keys and keeps unknown ones', () => {
    const stored = { name: 'a', unknown: { deep: 1 }, memory: 512 };
    expect(mergeChanges(stored, { name: 'a', memory: 512 }, { name: 'b', memory: 512 })).toEqual({ name: 'b', unknown: { deep: 1 }, memory: 512 });
  });

  it('does not write defaults the parser filled in for keys that did not change', () => {
    const stored = { name: 'a' };
    expect(mergeChanges(stored, { name: 'a', memory: 512 }, { name: 'b', memory: 512 })).toEqual({ name: 'b' });
  });

  it('removes keys set to undefined and adds new ones', () => {
    expect(mergeChanges({ a: 1, b: 2, x: 0 }, { a: 1, b: 2 }, { a: 1, c: 3 })).toEqual({ a: 1, c: 3, x: 0 });
  });

  it('merges nested objects', () => {
    const stored = { cpu: { cores: 1, flags: 'unknown' } };
    expect(mergeChanges(stored, { cpu: { cores: 1 } }, { cpu: { cores: 2 } })).toEqual({ cpu: { cores: 2, flags: 'unknown' } });
  });

  it('edits array items in place when the length is unchanged', () => {
    const stored = { nics: [{ mac: 'a', x: 1 }, { mac: 'b', x: 2 }] };
    expect(mergeChanges(stored, { nics: [{ mac: 'a' }, { mac: 'b' }] }, { nics: [{ mac: 'a' }, { mac: 'c' }] })).toEqual({
      nics: [{ mac: 'a', x: 1 }, { mac: 'c', x: 2 }],
    });
  });

  it('keeps the stored form of array items that only moved, and takes new items as given', () => {
    const stored = { nics: [{ mac: 'a', x: 1 }, { mac: 'b', x: 2 }] };
    const result = mergeChanges(stored, { nics: [{ mac: 'a' }, { mac: 'b' }] }, { nics: [{ mac: 'b' }, { mac: 'new' }, { mac: 'a' }] });
    expect(result).toEqual({ nics: [{ mac: 'b', x: 2 }, { mac: 'new' }, { mac: 'a', x: 1 }] });
  });

  it('replaces values whose type changed', () => {
    expect(mergeChanges({ boot: ['hd'] }, { boot: ['hd'] }, { boot: 'cdrom' })).toEqual({ boot: 'cdrom' });
    expect(mergeChanges({ a: { b: 1 } }, { a: { b: 1 } }, { a: null })).toEqual({ a: null });
  });
});
