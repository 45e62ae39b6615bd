import { EngineError } from '../api/errors';

const UNITS: Record<string, number> = { '': 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40, P: 2 ** 50 };

function invalid(input: string, why: string): EngineError {
  return new EngineError('invalid-argument', `"${input}" is not a valid size: ${why}.`, {
    hint: 'Write a size like 20G, 512M, 1.5T or a number of bytes. K, M, G, T and P are powers of 1024, as in qemu-img.',
  });
}

/**
 * Parses a disk size: bytes (`1073741824`) or a number with a binary unit (`10G`, `512M`, `1.5T`,
 * also `10GiB` / `10GB`, which mean the same as `10G`, as in qemu-img). Zero, negative and
 * malformed sizes are refused with a message that says why.
 */
export function parseSize(input: string | number): number {
  if (typeof input === 'number') {
    if (!Number.isFinite(input)) throw invalid(String(input), 'it is not a finite number');
    if (input < 0) throw invalid(String(input), 'a size cannot be negative');
    if (input === 0) throw invalid(String(input), 'a size must be greater than zero');
    if (!Number.isSafeInteger(input)) throw invalid(String(input), 'a size in bytes must be a whole number');
    return input;
  }
  const text = input.trim();
  if (text === '') throw invalid(input, 'it is empty');
  if (text.startsWith('-')) throw invalid(input, 'a size cannot be negative');
  const match = /^(\d+(?:\.\d+)?|\.\d+)\s*([a-zA-Z]*)$/.exec(text);
  if (!match) throw invalid(input, 'it is not a number followed by an optional unit');
  const [, numberText = '', unitText = ''] = match;
  const unitMatch = /^([kmgtp]?)(i?b)?$/i.exec(unitText);
  if (!unitMatch || (unitText.length > 0 && unitText.toLowerCase() === 'ib')) {
    throw invalid(input, `"${unitText}" is not a unit (use K, M, G, T or P)`);
  }
  const unit = (unitMatch[1] ?? '').toUpperCase();
  const multiplier = UNITS[unit] ?? 1;
  const value = Number(numberText);
  if (unit === '' && !Number.isInteger(value)) throw invalid(input, 'a size in bytes must be a whole number');
  const bytes = Math.round(value * multiplier);
  if (bytes === 0) throw invalid(input, 'a size must be greater than zero');
  if (!Number.isSafeInteger(bytes)) throw invalid(input, 'it is too large');
  return bytes;
}
