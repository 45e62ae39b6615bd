export { formatBytes } from '../../../../engine/api/units';

export const SIZE_UNITS = ['MiB', 'GiB', 'TiB'] as const;
export type SizeUnit = (typeof SIZE_UNITS)[number];

/** A size typed as a number and a unit, in bytes; undefined when it is not a positive number. */
export function toBytes(amount: string | number, unit: SizeUnit): number | undefined {
  const value = typeof amount === 'number' ? amount : Number(amount.trim().replace(',', '.'));
  if (!Number.isFinite(value) || value <= 0) return undefined;
  const bytes = value * 1024 ** (SIZE_UNITS.indexOf(unit) + 2);
  // qemu-img rounds qcow2 sizes up to 512 bytes anyway; whole bytes keep the schema's int rule.
  return Math.ceil(bytes / 512) * 512;
}

/** The largest unit in which `bytes` is at least 1, for pre-filling a size field. */
export function splitBytes(bytes: number): { amount: number; unit: SizeUnit } {
  for (const unit of [...SIZE_UNITS].reverse()) {
    const amount = bytes / 1024 ** (SIZE_UNITS.indexOf(unit) + 2);
    if (amount >= 1) return { amount: Math.round(amount * 100) / 100, unit };
  }
  return { amount: Math.round((bytes / 1024 ** 2) * 100) / 100, unit: 'MiB' };
}
