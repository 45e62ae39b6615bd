import { EngineError } from '../api/errors';
import type { CommandRunner } from './command-runner';
import { cidrsOverlap, formatSubnet, parseCidr, type Ipv4Cidr } from './ipv4';

export interface HostRoute {
  destination: string;
  device: string | undefined;
}

/** Parses `ip -j -4 route show` output into routes; the default route is left out. */
export function parseIpRouteJson(json: string): HostRoute[] {
  const parsed: unknown = JSON.parse(json || '[]');
  if (!Array.isArray(parsed)) return [];
  const routes: HostRoute[] = [];
  for (const entry of parsed) {
    if (typeof entry !== 'object' || entry === null) continue;
    const { dst, dev } = entry as { dst?: unknown; dev?: unknown };
    if (typeof dst !== 'string' || dst === 'default') continue;
    routes.push({ destination: dst, device: typeof dev === 'string' ? dev : undefined });
  }
  return routes;
}

export async function readHostRoutes(runner: CommandRunner): Promise<HostRoute[]> {
  const result = await runner.run('ip', ['-j', '-4', 'route', 'show']);
  if (result.code !== 0) {
    throw new EngineError('unavailable', `Could not read the host's routes: ip route failed: ${result.stderr.trim()}`);
  }
  return parseIpRouteJson(result.stdout);
}

/**
 * Refuses a subnet that overlaps a route the host already has (its LAN, a VPN, another
 * bridge): guests on it would shadow real hosts. Routes through `ownDevice` (the
 * network's own bridge, when it is already up) are ignored.
 */
export function assertSubnetFree(subnet: Ipv4Cidr, routes: readonly HostRoute[], ownDevice?: string): void {
  for (const route of routes) {
    if (ownDevice !== undefined && route.device === ownDevice) continue;
    let destination: Ipv4Cidr;
    try {
      destination = parseCidr(route.destination, 'route', { allowBareAddress: true });
    } catch {
      continue;
    }
    if (cidrsOverlap(subnet, destination)) {
      throw new EngineError('conflict', `Subnet ${formatSubnet(subnet)} overlaps the host's route to ${route.destination}${route.device ? ` (on ${route.device})` : ''}`, {
        hint: 'Pick a subnet the host does not use, e.g. another 192.168.x.0/24.',
        details: { route: route.destination, device: route.device },
      });
    }
  }
}
