import { EngineError } from '../errors';
import { VM_DEFAULTS } from '../defaults';
import type { PortForward, PortProtocol } from '../nic';
import { formatIpv4, tryParseIpv4 } from './ipv4';

export type { PortForward, PortProtocol };

/** Forwards listen on loopback unless asked otherwise (the model's default). */
export const DEFAULT_FORWARD_HOST_ADDRESS: string = VM_DEFAULTS.portForwardHostAddress;

const SPEC_HINT = 'Write it as PROTOCOL:[HOSTADDRESS:]HOSTPORT:GUESTPORT, e.g. tcp:8080:80 or udp:127.0.0.1:5353:53.';

function parsePort(text: string, what: string, spec: string): number {
  if (!/^[1-9][0-9]{0,4}$/.test(text) || Number(text) > 65535) {
    throw new EngineError('invalid-argument', `Port forward "${spec}": ${what} "${text}" is not a port number 1-65535`, { hint: SPEC_HINT });
  }
  return Number(text);
}

/** Parses `tcp:8080:80`, `udp:5353:53`, `tcp:127.0.0.1:8080:80`, `tcp:0.0.0.0:8080:80`. */
export function parsePortForward(spec: string): PortForward {
  const parts = spec.trim().split(':');
  const protocol = parts[0]?.toLowerCase();
  if (protocol !== 'tcp' && protocol !== 'udp') {
    throw new EngineError('invalid-argument', `Port forward "${spec}" must start with tcp: or udp:`, { hint: SPEC_HINT });
  }
  let hostAddress = DEFAULT_FORWARD_HOST_ADDRESS;
  let rest: string[];
  if (parts.length === 4) {
    const address = tryParseIpv4(parts[1] ?? '');
    if (address === undefined) {
      throw new EngineError('invalid-argument', `Port forward "${spec}": host address "${parts[1]}" is not an IPv4 address`, { hint: SPEC_HINT });
    }
    hostAddress = formatIpv4(address);
    rest = parts.slice(2);
  } else if (parts.length === 3) {
    rest = parts.slice(1);
  } else {
    throw new EngineError('invalid-argument', `Port forward "${spec}" has ${parts.length} parts; expected 3 or 4`, { hint: SPEC_HINT });
  }
  return {
    protocol,
    hostAddress,
    hostPort: parsePort(rest[0] ?? '', 'host port', spec),
    guestPort: parsePort(rest[1] ?? '', 'guest port', spec),
  };
}

export function formatPortForward(forward: PortForward): string {
  return `${forward.protocol}:${forward.hostAddress}:${forward.hostPort}:${forward.guestPort}`;
}

/** Two forwards clash when they would bind the same host socket (same protocol and port, overlapping addresses). */
export function forwardsClash(a: Pick<PortForward, 'protocol' | 'hostAddress' | 'hostPort'>, b: Pick<PortForward, 'protocol' | 'hostAddress' | 'hostPort'>): boolean {
  if (a.protocol !== b.protocol || a.hostPort !== b.hostPort) return false;
  return a.hostAddress === b.hostAddress || a.hostAddress === '0.0.0.0' || b.hostAddress === '0.0.0.0';
}

/**
 * What names a forward to remove: `tcp:8080`, `tcp:127.0.0.1:8080`, or the whole spec it was
 * added with (`tcp:8080:80`, `tcp:127.0.0.1:8080:80`). The host address is only matched when given.
 */
export function parseForwardSelector(spec: string): { protocol: PortProtocol; hostPort: number; hostAddress?: string } {
  const parts = spec.trim().split(':');
  const protocol = parts[0]?.toLowerCase();
  if (protocol !== 'tcp' && protocol !== 'udp') {
    throw new EngineError('invalid-argument', `Port forward "${spec}" must start with tcp: or udp:`, { hint: 'e.g. tcp:8080 or tcp:127.0.0.1:8080' });
  }
  const hasAddress = parts.length >= 3 && tryParseIpv4(parts[1] ?? '') !== undefined;
  if (parts.length === 2 || (parts.length === 3 && hasAddress)) {
    const hostPort = parsePort(parts[parts.length - 1] ?? '', 'host port', spec);
    return hasAddress ? { protocol, hostPort, hostAddress: formatIpv4(tryParseIpv4(parts[1]!)!) } : { protocol, hostPort };
  }
  const full = parsePortForward(spec);
  return parts.length === 4 ? { protocol: full.protocol, hostPort: full.hostPort, hostAddress: full.hostAddress } : { protocol: full.protocol, hostPort: full.hostPort };
}
