import { readFile } from 'node:fs/promises';

/** One DHCP lease from a network's dnsmasq lease file. */
export interface DhcpLease {
  mac: string;
  ip: string;
  hostname: string | undefined;
  /** ISO time, or undefined for an infinite lease. */
  expiresAt: string | undefined;
  clientId: string | undefined;
}

/**
 * Parses dnsmasq's lease file: `EXPIRY MAC IP HOSTNAME CLIENTID` per line, `*` for an absent
 * hostname or client id, expiry 0 for infinite. Expired leases are left out (dnsmasq rewrites the
 * file lazily). IPv6 lines (after a `duid` line) are skipped.
 */
export function parseLeaseFile(text: string, now: Date = new Date()): DhcpLease[] {
  const leases: DhcpLease[] = [];
  for (const line of text.split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 4 || fields[0] === 'duid') continue;
    const [expiry, mac, ip, hostname, clientId] = fields as [string, string, string, string, string | undefined];
    if (!/^[0-9]+$/.test(expiry) || !/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(mac) || !/^[0-9.]+$/.test(ip)) continue;
    const seconds = Number(expiry);
    if (seconds !== 0 && seconds * 1000 < now.getTime()) continue;
    leases.push({
      mac: mac.toLowerCase(),
      ip,
      hostname: hostname === '*' ? undefined : hostname,
      expiresAt: seconds === 0 ? undefined : new Date(seconds * 1000).toISOString(),
      clientId: clientId === undefined || clientId === '*' ? undefined : clientId,
    });
  }
  return leases;
}

export async function readLeaseFile(path: string, now?: Date): Promise<DhcpLease[]> {
  const text = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return '';
    throw error;
  });
  return parseLeaseFile(text, now);
}
