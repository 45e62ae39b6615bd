import * as z from 'zod';
import { EngineError } from './errors';

/** QEMU/KVM's conventional locally administered prefix; generated addresses always use it. */
export const MAC_PREFIX = '52:54:00';

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

/** Why `mac` cannot be a NIC's address, or undefined. Expects the lower-case form. */
export function macProblem(mac: string): string | undefined {
  if (!MAC.test(mac)) return 'is not six two-digit hex numbers separated by colons';
  if ((parseInt(mac.slice(0, 2), 16) & 1) === 1) return 'is a multicast address (the first octet must be even)';
  if (mac === '00:00:00:00:00:00') return 'is all zeros';
  return undefined;
}

export function isValidMac(mac: string): boolean {
  return macProblem(mac.toLowerCase()) === undefined;
}

/** Stored lower-case, so uniqueness is a plain string comparison. */
export const macSchema = z
  .string()
  .transform((value) => value.toLowerCase())
  .superRefine((value, ctx) => {
    const problem = macProblem(value);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: `MAC address "${value}" ${problem}` });
  });

/** Web Crypto (global in Node and browsers): engine/model stays free of Node imports. */
function webCryptoBytes(size: number): Uint8Array {
  return globalThis.crypto.getRandomValues(new Uint8Array(size));
}

/**
 * A random 52:54:00:xx:xx:xx address not in `taken` (compared lower-case). `taken` should hold
 * every NIC address of every definition, so generated addresses are unique on the host.
 */
export function generateMac(taken: ReadonlySet<string>, random: (size: number) => Uint8Array = webCryptoBytes): string {
  const lowerTaken = new Set([...taken].map((mac) => mac.toLowerCase()));
  for (let attempt = 0; attempt < 1000; attempt++) {
    const tail = [...random(3)].map((byte) => byte.toString(16).padStart(2, '0'));
    const mac = `${MAC_PREFIX}:${tail.join(':')}`;
    if (!lowerTaken.has(mac)) return mac;
  }
  throw new EngineError('resource-exhausted', `Could not find a free MAC address in ${MAC_PREFIX}:xx:xx:xx after 1000 tries`, {
    hint: 'Give the NIC a MAC address of your own.',
  });
}
