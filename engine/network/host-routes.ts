import { EngineError } from '../api/errors';
import type { CommandRunner } from './command-runner';
import { cidrsOverlap, formatSubnet, parseCidr, type Ipv4Cidr } from '../model/net/ipv4';

export interface HostRoute {
  destination: string;
  device: string | undefined;
  /** The routing table, when not `main`. */
  table?: string;
}

/**
 * Parses `ip -j -4 route show table all` output into routes; default routes are left out.
 * Every table counts (policy routing, VPNs and the local table keep routes outside `main`),
 * and so do routes without a device (unreachable, blackhole): someone reserved that space.
 */
export function parseIpRouteJson(json: string): HostRoute[] {
  const parsed: unknown = JSON.parse(json || '[]');
  if (!Array.isArray(parsed)) return [];
  const routes: HostRoute[] = [];
  for (const entry of parsed) {
    if (typeof entry !== 'object' || entry === null) continue;
    const { dst, dev, table } = entry as { dst?: unknown; dev?: unknown; table?: unknown };
    if (typeof dst !== 'string' || dst === 'default') continue;
    const route: HostRoute = { destination: dst, device: typeof dev === 'string' ? dev : undefined };
    if ((typeof table === 'string' || typeof table === 'number') && String(table) !== 'main') route.table = String(table);
    routes.push(route);
  }
  return routes;
}

export async function readHostRoutes(runner: CommandRunner): Promise<HostRoute[]> {
  const result = await runner.run('ip', ['-j', '-4', 'route', 'show', 'table', 'all']);
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
      throw new EngineError('conflict', `Subnet ${formatSubnet(subnet)} overlaps the host's route to ${route.destination}${describeRoute(route)}`, {
        hint: 'Pick a subnet the host does not use, e.g. another 192.168.x.0/24.',
        details: { route: route.destination, device: route.device, table: route.table },
      });
    }
  }
}

function describeRoute(route: HostRoute): string {
  const where = [route.device ? `on ${route.device}` : undefined, route.table ? `table ${route.table}` : undefined].filter(Boolean);
  return where.length > 0 ? ` (${where.join(', ')})` : '';
}
