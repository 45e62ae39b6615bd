import { describe, expect, it } from 'vitest';
import { EngineError } from '../../../engine/api/errors';
import { checkSpace } from '../../../engine/storage/free-space';
import { formatBytes } from '../../../engine/model/bytes';
import { parseSize } from '../../../engine/storage/size';

function errorOf(fn: () => unknown): EngineError {
  try {
    fn();
  } catch (error) {
    if (error instanceof EngineError) return error;
    throw error;
  }
  throw new Error('expected an EngineError');
}

describe('parseSize', () => {
  it.each([
    ['10G', 10 * 2 ** 30],
    ['512M', 512 * 2 ** 20],
    ['1.5T', 1.5 * 2 ** 40],
    ['1048576', 1048576],
    ['4k', 4096],
    ['10GiB', 10 * 2 ** 30],
    ['10GB', 10 * 2 ** 30],
    [' 2 G ', 2 * 2 ** 30],
    [8192, 8192],
  ])('%s is %d bytes', (input, bytes) => {
    expect(parseSize(input)).toBe(bytes);
  });

  it.each([
    ['0', /greater than zero/],
    ['0G', /greater than zero/],
    [0, /greater than zero/],
    ['-5G', /cannot be negative/],
    [-1, /cannot be negative/],
    ['12Q', /"Q" is not a unit/],
    ['abc', /not a number/],
    ['', /empty/],
    ['1.5', /whole number/],
    ['10 iB', /not a unit/],
    ['1e9', /not a number followed/],
    ['99999999P', /too large/],
  ])('refuses %s', (input, why) => {
    const error = errorOf(() => parseSize(input));
    expect(error.code).toBe('invalid-argument');
    expect(error.message).toMatch(why);
    expect(error.hint).toMatch(/20G/);
  });
});

describe('formatBytes (the one byte formatter of engine and renderer)', () => {
  it('prints binary units', () => {
    expect(formatBytes(10 * 2 ** 30)).toBe('10 GiB');
    expect(formatBytes(1.5 * 2 ** 40)).toBe('1.5 TiB');
    expect(formatBytes(512)).toBe('512 B');
  });

  it('gives one decimal below 100, none from there, and drops a trailing .0', () => {
    expect(formatBytes(10e9)).toBe('9.3 GiB');
    expect(formatBytes(2 * 2 ** 30 + 1)).toBe('2 GiB');
    expect(formatBytes(12.34 * 2 ** 20)).toBe('12.3 MiB');
    expect(formatBytes(123.4 * 2 ** 20)).toBe('123 MiB');
    expect(formatBytes(1.5 * 1024)).toBe('1.5 KiB');
    expect(formatBytes(0)).toBe('0 B');
  });

  it('moves to the next unit when rounding reaches 1024', () => {
    expect(formatBytes(1023.7 * 2 ** 20)).toBe('1 GiB');
  });
});

describe('checkSpace (the pool space rule)', () => {
  const GiB = 2 ** 30;
  it('accepts what fits', () => {
    expect(checkSpace('pool x', 10 * GiB, { capacity: 5 * GiB, allocation: 0 })).toBeUndefined();
  });
  it('refuses an allocation beyond the free space, even with overcommit allowed', () => {
    const error = errorOf(() => checkSpace('pool x', GiB, { capacity: 2 * GiB, allocation: 2 * GiB, allowOvercommit: true }));
    expect(error.code).toBe('resource-exhausted');
    expect(error.message).toMatch(/needs 2 GiB now, and only 1 GiB is free/);
  });
  it('refuses a sparse capacity beyond the free space unless the overcommit is accepted, then warns', () => {
    const error = errorOf(() => checkSpace('pool x', GiB, { capacity: 100 * GiB, allocation: 0 }));
    expect(error.code).toBe('resource-exhausted');
    expect(error.hint).toMatch(/--overcommit/);
    expect(checkSpace('pool x', GiB, { capacity: 100 * GiB, allocation: 0, allowOvercommit: true })).toMatch(/may grow to 100 GiB/);
  });
});
