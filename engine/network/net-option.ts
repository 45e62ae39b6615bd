import type * as z from 'zod';
import { EngineError } from '../api/errors';
import type { nicInputSchema } from '../model/nic';
import { interfaceNameProblem } from '../model/net/interface-names';
import { networkNameProblem } from '../model/net/network-names';

/** The `network` part of a NIC as `vm create` passes it to engine/model (link role optional: the free end). */
export type NicNetworkInput = NonNullable<z.input<typeof nicInputSchema>['network']>;

const HINT = 'Use --net user, network:NAME, bridge:NAME, link:NAME (optionally link:NAME:a or :b), or none.';

/**
 * Parses `vm create --net VALUE`: `user` (default NAT), `network:NAME` (a virtual network),
 * `bridge:NAME` (an existing host bridge), `link:NAME[:a|:b]` (a private link to one other VM),
 * `none` (no NIC, returned as null).
 */
export function parseNetOption(text: string): NicNetworkInput | null {
  const value = text.trim();
  if (value === 'none') return null;
  if (value === 'user') return { kind: 'user' };
  const colon = value.indexOf(':');
  const kind = colon < 0 ? value : value.slice(0, colon);
  const rest = colon < 0 ? '' : value.slice(colon + 1);
  const check = (name: string, problem: string | undefined, what: string): string => {
    if (problem !== undefined) throw new EngineError('invalid-argument', `--net ${value}: the ${what} "${name}" ${problem}`, { hint: HINT });
    return name;
  };
  switch (kind) {
    case 'network':
      return { kind: 'network', name: check(rest, networkNameProblem(rest), 'network name') };
    case 'bridge':
      return { kind: 'bridge', name: check(rest, interfaceNameProblem(rest), 'bridge name') };
    case 'link': {
      const [name = '', role, ...extra] = rest.split(':');
      check(name, networkNameProblem(name), 'link name');
      if (extra.length > 0 || (role !== undefined && role !== 'a' && role !== 'b')) {
        throw new EngineError('invalid-argument', `--net ${value}: a link end is "a" or "b"`, { hint: HINT });
      }
      return role === undefined ? { kind: 'link', name } : { kind: 'link', name, role };
    }
    default:
      throw new EngineError('invalid-argument', `--net ${value} is not a network choice`, { hint: HINT });
  }
}
