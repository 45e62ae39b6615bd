import { randomBytes } from 'node:crypto';
import { EngineError } from '../api/errors';

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

/** Lower-cases and checks `aa:bb:cc:dd:ee:ff`; a multicast address (low bit of the first octet) is refused. */
export function validateMac(text: string, what = 'MAC address'): string {
  const mac = text.toLowerCase();
  if (!MAC.test(mac)) {
    throw new EngineError('invalid-argument', `The ${what} "${text}" is not a MAC address`, {
      hint: 'Write six two-digit hex numbers separated by colons, e.g. 52:54:00:12:34:56.',
    });
  }
  if ((parseInt(mac.slice(0, 2), 16) & 1) === 1) {
    throw new EngineError('invalid-argument', `The ${what} "${text}" is a multicast address and cannot be a NIC's address`, {
      hint: 'The first octet must be even; QEMU/KVM guests usually use 52:54:00:xx:xx:xx.',
    });
  }
  return mac;
}

/** A random address in QEMU's conventional 52:54:00 prefix. */
export function randomMac(): string {
  const tail = [...randomBytes(3)].map((b) => b.toString(16).padStart(2, '0'));
  return ['52', '54', '00', ...tail].join(':');
}

/** Refuses a MAC used twice among the given owners (e.g. every NIC of every VM). */
export function assertUniqueMacs(entries: readonly { mac: string; owner: string }[]): void {
  const seen = new Map<string, string>();
  for (const { mac, owner } of entries) {
    const key = mac.toLowerCase();
    const previous = seen.get(key);
    if (previous !== undefined) {
      throw new EngineError('conflict', `MAC address ${key} is used by both ${previous} and ${owner}`, {
        hint: 'Every NIC needs its own MAC address; remove the address from one of them to get a fresh one.',
        details: { mac: key, owners: [previous, owner] },
      });
    }
    seen.set(key, owner);
  }
}
