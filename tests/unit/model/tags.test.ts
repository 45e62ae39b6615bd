import { describe, expect, it } from 'vitest';
import { parseVmDefinition, tagsSchema } from '../../../engine/model';
import { makeVm, thrown } from './helpers';

const issues = (value: unknown): string[] => {
  const result = tagsSchema.safeParse(value);
  return result.success ? [] : result.error.issues.map((issue) => issue.message);
};

describe('tags', () => {
  it('defaults to no tags, in created and stored definitions', () => {
    expect(makeVm({ name: 'plain' }).tags).toEqual([]);
    const stored = { ...makeVm({ name: 'old' }) } as Record<string, unknown>;
    delete stored.tags;
    expect(parseVmDefinition(stored).tags).toEqual([]);
  });

  it('keeps tags as given', () => {
    expect(makeVm({ name: 'tagged', tags: ['web', 'Lab 2', 'v1.2_x-y'] }).tags).toEqual(['web', 'Lab 2', 'v1.2_x-y']);
    expect(issues(['Übung', '東京'])).toEqual([]);
  });

  it('refuses empty, too long, odd characters and edge spaces', () => {
    expect(issues([''])).toEqual(['a tag must not be empty']);
    expect(issues(['x'.repeat(33)])).toEqual(['a tag must be at most 32 characters']);
    expect(issues(['x'.repeat(32)])).toEqual([]);
    expect(issues(['a/b'])).toEqual(['a tag may hold only letters, digits, ".", "_", "-" and spaces']);
    expect(issues([' web'])).toEqual(['a tag must not start or end with a space']);
  });

  it('refuses more than 16 tags', () => {
    const tags = Array.from({ length: 17 }, (_, i) => `t${i}`);
    expect(issues(tags)).toEqual(['a VM may have at most 16 tags']);
    expect(issues(tags.slice(0, 16))).toEqual([]);
  });

  it('refuses a tag given twice, ignoring case, naming the field', () => {
    expect(issues(['Web', 'db', 'web'])).toEqual(['tag "web" is given twice (tags ignore case)']);
    const error = thrown(() => makeVm({ name: 'dup', tags: ['a', 'A'] }));
    expect(error.code).toBe('invalid-argument');
    expect(error.message).toMatch(/tags\.1: tag "A" is given twice/);
  });
});
