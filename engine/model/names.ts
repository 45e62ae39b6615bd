import * as z from 'zod';

export const MAX_VM_NAME_LENGTH = 64;

/** Letters, digits and `._-`; not starting with `.` or `-` (no hidden files, no CLI options). */
const VM_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;

/** Why `name` is not a valid VM name, or undefined when it is. */
export function vmNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'is empty';
  if (name.length > MAX_VM_NAME_LENGTH) return `is ${name.length} characters long; at most ${MAX_VM_NAME_LENGTH} are allowed`;
  if (name.startsWith('.') || name.startsWith('-')) return 'must not start with "." or "-"';
  if (!VM_NAME.test(name)) return 'may only contain letters, digits, ".", "_" and "-"';
  return undefined;
}

export function isValidVmName(name: unknown): name is string {
  return typeof name === 'string' && vmNameProblem(name) === undefined;
}

export const vmNameSchema = z.string().superRefine((value, ctx) => {
  const problem = vmNameProblem(value);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: `VM name "${value}" ${problem}` });
});

/**
 * Ids of devices inside one VM (disks, CD-ROMs, NICs). They become QEMU device ids and, with a
 * suffix, block node names, which QEMU limits to 31 characters; hence the short limit.
 */
export const MAX_DEVICE_ID_LENGTH = 16;
const DEVICE_ID = /^[A-Za-z][A-Za-z0-9_-]*$/;
/** Ids QEMU gets from the argv builder for its own devices start with this; a user's may not. */
export const RESERVED_DEVICE_ID_PREFIX = 'vd-';

export function deviceIdProblem(id: string): string | undefined {
  if (id.length === 0) return 'is empty';
  if (id.length > MAX_DEVICE_ID_LENGTH) return `is longer than ${MAX_DEVICE_ID_LENGTH} characters`;
  if (!DEVICE_ID.test(id)) return 'may only contain letters, digits, "_" and "-", and must start with a letter';
  if (id.startsWith(RESERVED_DEVICE_ID_PREFIX)) return `must not start with "${RESERVED_DEVICE_ID_PREFIX}" (reserved for devices Virtdesk adds itself)`;
  return undefined;
}

export const deviceIdSchema = z.string().superRefine((value, ctx) => {
  const problem = deviceIdProblem(value);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: `device id "${value}" ${problem}` });
});

/** The first `<prefix><n>` not in `taken`: disk0, disk1, … */
export function nextDeviceId(prefix: string, taken: ReadonlySet<string>): string {
  for (let n = 0; ; n++) {
    const id = `${prefix}${n}`;
    if (!taken.has(id)) return id;
  }
}
