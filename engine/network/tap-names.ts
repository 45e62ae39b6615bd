import { createHash } from 'node:crypto';

/** Every tap the engine asks for starts with this, so leftovers are recognisable. */
export const TAP_PREFIX = 'vdtap';

/**
 * A stable tap name for one NIC of one VM: `vdtap` + 10 hex digits of a hash (15 characters,
 * the kernel's limit). Stable, so a tap left by a crash is found and reused or removed.
 */
export function tapNameFor(vmId: string, nicId: string): string {
  const digest = createHash('sha256').update(`${vmId}\0${nicId}`).digest('hex');
  return `${TAP_PREFIX}${digest.slice(0, 10)}`;
}
