const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'] as const;

/**
 * Bytes for people, the one way everywhere (CLI, messages, the UI): binary units as qemu-img
 * reports them, one decimal below 100 and none from there, a trailing `.0` dropped:
 * `512 B`, `10 GiB`, `1.5 TiB`, `9.3 GiB`, `12.3 MiB`, `123 MiB`.
 */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  const size = Math.abs(value);
  let text = Number(value.toFixed(size < 100 ? 1 : 0));
  // 1023.7 MiB rounds to 1024 MiB, which is 1 GiB.
  if (Math.abs(text) >= 1024 && unit < UNITS.length - 1) {
    text = Number((value / 1024).toFixed(1));
    unit++;
  }
  return `${text} ${UNITS[unit]}`;
}
