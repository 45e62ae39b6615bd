import { describe, expect, it } from 'vitest';
import { EngineError } from '../../../engine/api/errors';
import { validatePoolName, validateVolumeName, volumePath } from '../../../engine/storage/pools/names';

function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(EngineError);
    expect((error as EngineError).code).toBe('invalid-argument');
    return (error as EngineError).message;
  }
  throw new Error('expected a refusal');
}

describe('volume names', () => {
  it.each(['debian.qcow2', 'Windows 11.raw', 'a-b_c.1.img', 'ünïcode.qcow2'])('accepts %s', (name) => {
    expect(validateVolumeName(name)).toBe(name);
    expect(volumePath('/pool', name)).toBe(`/pool/${name}`);
  });

  it.each([
    ['../x', /slash, so it would leave the pool/],
    ['/etc/passwd', /is a path, not a name/],
    ['a/b.qcow2', /slash/],
    ['a\\b', /slash/],
    ['evil\u0000.qcow2', /NUL byte/],
    ['..', /slash|folder/],
    ['.', /folder/],
    ['.hidden', /starts with a dot/],
    ['', /empty/],
    ['bell\u0007', /control character/],
    [' lead', /space/],
    ['x'.repeat(256), /255 bytes/],
  ])('refuses %j', (name, why) => {
    expect(messageOf(() => validateVolumeName(name))).toMatch(why);
    expect(() => volumePath('/pool', name)).toThrow(EngineError);
  });

  it('shows control characters escaped in the message', () => {
    expect(messageOf(() => validateVolumeName('a\u0000b'))).toContain('a\\x00b');
  });
});

describe('pool names', () => {
  it('accepts simple names and refuses others', () => {
    expect(validatePoolName('fast-ssd')).toBe('fast-ssd');
    for (const bad of ['', '-x', 'a b', 'a/b', '../up', 'x'.repeat(65)]) expect(() => validatePoolName(bad)).toThrow(EngineError);
  });
});
