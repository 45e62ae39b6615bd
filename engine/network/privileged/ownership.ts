import { EngineError } from '../../api/errors';

/**
 * Who owns what the root helper creates. The owner is the calling user's uid (pkexec's
 * PKEXEC_UID; root when root calls it directly) and is recorded on the object itself, so it
 * lives and dies with it: in a link's alias (only root can set one), in an nft table's comment,
 * in an `owner` file in a dnsmasq state folder (root-owned). Every operation checks it: an
 * object without a record (made by root or an older Virtdesk) belongs to root.
 */

export const ROOT_UID = 0;
export const ALIAS_PREFIX = 'virtdesk:';

export type LinkKind = 'network' | 'tap' | 'hostbridge';

export interface LinkTag {
  kind: LinkKind;
  /** The network a bridge serves, or the interface a host bridge took over; empty for taps. */
  detail: string;
  owner: number;
}

/** The uid pkexec reports, or root's when the helper was not started through pkexec. */
export function callerUid(env: NodeJS.ProcessEnv): number {
  const raw = env.PKEXEC_UID;
  if (raw === undefined) return ROOT_UID;
  if (!/^(0|[1-9][0-9]{0,9})$/.test(raw) || Number(raw) > 0xfffffffe) {
    throw new EngineError('permission-denied', `PKEXEC_UID "${raw}" is not a user id; the helper does nothing for an unknown caller`);
  }
  return Number(raw);
}

/** `virtdesk:network:lab owner=1000`, `virtdesk:tap owner=1000`, `virtdesk:hostbridge:eth0 owner=0`. */
export function formatLinkTag(tag: LinkTag): string {
  return `${ALIAS_PREFIX}${tag.kind}${tag.detail ? `:${tag.detail}` : ''} owner=${tag.owner}`;
}

/** Reads a link's alias; undefined when the link is not Virtdesk's. A tag without an owner belongs to root. */
export function parseLinkTag(alias: string | undefined): LinkTag | undefined {
  const match = /^virtdesk:(network|tap|hostbridge)(?::([A-Za-z0-9_.-]*))?(?: owner=(\d+))?$/.exec(alias ?? '');
  if (!match) return undefined;
  return { kind: match[1] as LinkKind, detail: match[2] ?? '', owner: match[3] === undefined ? ROOT_UID : Number(match[3]) };
}

export function ownerName(uid: number): string {
  return uid === ROOT_UID ? 'root' : `user ${uid}`;
}

/** Refuses an object that belongs to someone other than the caller. */
export function assertOwner(what: string, owner: number, caller: number): void {
  if (owner === caller) return;
  throw new EngineError('permission-denied', `${what} belongs to ${ownerName(owner)}, not to the calling ${ownerName(caller)}; the helper leaves it alone`, {
    hint: owner === ROOT_UID
      ? 'It was made by root (or by an older Virtdesk); remove it as root if it is left over, or choose another name.'
      : 'Choose another name; only its owner can change or remove it.',
  });
}

/** The owner recorded in an nft table's listing (`comment "virtdesk owner=N"`); root when none. */
export function parseNftOwner(listing: string): number {
  const match = /^\s*comment "virtdesk owner=(\d+)"/m.exec(listing);
  return match ? Number(match[1]) : ROOT_UID;
}

export function nftOwnerComment(owner: number): string {
  return `comment "virtdesk owner=${owner}"`;
}
