/**
 * Readers of the few HMP replies Virtdesk needs (slirp forwards and taps have no QMP command in
 * QEMU 7.2). HMP answers in text, so the parsing lives here, next to the command strings.
 */

/** A forward slirp reports as active (`info usernet`). */
export interface UsernetForward {
  /** The -netdev id, e.g. `net0-backend`. */
  netdev: string;
  protocol: 'tcp' | 'udp';
  hostAddress: string;
  hostPort: number;
  guestAddress: string;
  guestPort: number;
}

/**
 * Parses HMP `info usernet` (QEMU 7.2): a `Hub -1 (NETDEV):` header per user netdev, then a
 * table whose `TCP[HOST_FORWARD]` / `UDP[HOST_FORWARD]` rows are the forwards.
 */
export function parseUsernetForwards(text: string): UsernetForward[] {
  const forwards: UsernetForward[] = [];
  let netdev: string | undefined;
  for (const line of text.split(/\r?\n/)) {
    const header = /^\S.*\((.+)\):\s*$/.exec(line);
    if (header) {
      netdev = header[1];
      continue;
    }
    const row = /^\s*(TCP|UDP)\[HOST_FORWARD\]\s+-?\d+\s+(\S+)\s+(\d+)\s+(\S+)\s+(\d+)/.exec(line);
    if (row && netdev !== undefined) {
      forwards.push({
        netdev,
        protocol: row[1]!.toLowerCase() as UsernetForward['protocol'],
        hostAddress: row[2]!,
        hostPort: Number(row[3]),
        guestAddress: row[4]!,
        guestPort: Number(row[5]),
      });
    }
  }
  return forwards;
}

/** Tap interface names from HMP `info network` (`... type=tap,ifname=vdt1234,...`). */
export function tapNamesFromInfoNetwork(text: string): string[] {
  return [...text.matchAll(/type=tap,ifname=([^,\s]+)/g)].map((match) => match[1]!).filter((name, i, all) => all.indexOf(name) === i);
}

/** What `hostfwd_remove` did: HMP reports in text, not as a QMP error. */
export type HostfwdRemoval = { removed: boolean } | { failure: string };

export function parseHostfwdRemove(output: string): HostfwdRemoval {
  const text = output.trim();
  if (/ removed$/.test(text)) return { removed: true };
  if (/ not found$/.test(text)) return { removed: false };
  return { failure: text };
}
