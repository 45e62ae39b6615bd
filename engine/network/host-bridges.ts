import type { CommandRunner } from './command-runner';
import { validateInterfaceName } from '../model/net/interface-names';
import type { PrivilegedCall } from './network-manager';
import { parseLinkTag } from './privileged/ownership';

export interface HostBridgeInfo {
  name: string;
  /** Interfaces attached to it (physical NICs, taps of running VMs). */
  ports: string[];
  /** Made by `virtdesk net host-bridge create`; the interface it took over. */
  createdBy: { virtdesk: true; interface: string } | { virtdesk: false };
  addresses: string[];
}

/** What a person must read before a host bridge takes over an interface. */
export function hostBridgeWarning(iface: string, bridge: string): string {
  return (
    `Creating ${bridge} moves this host's own network connection from ${iface} to ${bridge}: ` +
    `${iface}'s IPv4 addresses and routes move to ${bridge} and ${iface} becomes a port of it. ` +
    `The connection may drop for a moment. A DHCP client or network manager configured for ${iface} ` +
    `must be pointed at ${bridge}, or the host loses its address when the lease is renewed. ` +
    `Over Wi-Fi this usually does not work at all (most access points drop frames from other MAC addresses).`
  );
}

/** Every Linux bridge on the host, ours or not, for choosing one to attach VMs to. */
export async function listHostBridges(runner: CommandRunner): Promise<HostBridgeInfo[]> {
  const result = await runner.run('ip', ['-j', '-d', 'addr', 'show']);
  if (result.code !== 0) return [];
  const links = JSON.parse(result.stdout || '[]') as {
    ifname: string;
    master?: string;
    ifalias?: string;
    linkinfo?: { info_kind?: string };
    addr_info?: { family: string; local: string; prefixlen: number }[];
  }[];
  return links
    .filter((link) => link.linkinfo?.info_kind === 'bridge' && parseLinkTag(link.ifalias)?.kind !== 'network')
    .map((link) => {
      const tag = parseLinkTag(link.ifalias);
      return {
        name: link.ifname,
        ports: links.filter((l) => l.master === link.ifname).map((l) => l.ifname),
        createdBy: tag?.kind === 'hostbridge' ? { virtdesk: true as const, interface: tag.detail } : { virtdesk: false as const },
        addresses: (link.addr_info ?? []).filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`),
      };
    });
}

/**
 * Creates a host bridge that takes over `iface` (see hostBridgeWarning). VMs then join the
 * LAN through it with `--net bridge:NAME` (qemu-bridge-helper).
 */
export async function createHostBridge(bridge: string, iface: string, privileged: PrivilegedCall): Promise<{ warning: string; movedAddresses: string[]; movedRoutes: string[] }> {
  validateInterfaceName(bridge, 'bridge name');
  validateInterfaceName(iface, 'interface name');
  const result = await privileged({ op: 'hostbridge.create', bridge, interface: iface });
  return { warning: hostBridgeWarning(iface, bridge), ...result };
}

/** Deletes a host bridge Virtdesk created, giving the addresses and routes back to its interface. */
export async function deleteHostBridge(bridge: string, privileged: PrivilegedCall): Promise<{ deleted: boolean; restoredTo: string | undefined }> {
  validateInterfaceName(bridge, 'bridge name');
  return privileged({ op: 'hostbridge.delete', bridge });
}
