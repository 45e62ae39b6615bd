import type { QemuProps } from './types';

/**
 * Escapes a value inside a QemuOpts string (`-chardev`, `-vnc`, `-name`, `-machine`): a comma
 * is doubled, otherwise it would start the next option. JSON arguments need no escaping.
 */
export function optionValue(value: string): string {
  return value.replaceAll(',', ',,');
}

/** `key=value,key=value` with each value escaped; undefined values are left out. */
export function optionList(entries: readonly (readonly [string, string | number | boolean | undefined])[]): string {
  return entries
    .filter((entry): entry is readonly [string, string | number | boolean] => entry[1] !== undefined)
    .map(([key, value]) => `${key}=${optionValue(typeof value === 'boolean' ? (value ? 'on' : 'off') : String(value))}`)
    .join(',');
}

/** The JSON form QEMU accepts for -device, -blockdev, -netdev and -object; undefined props are dropped. */
export function json(props: QemuProps): string {
  return JSON.stringify(props);
}

/** Copies props without undefined entries (so optional props are simply absent). */
export function compact(props: QemuProps): QemuProps {
  return Object.fromEntries(Object.entries(props).filter(([, value]) => value !== undefined));
}
