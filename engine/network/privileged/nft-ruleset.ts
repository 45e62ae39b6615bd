import { formatSubnet, parseCidr } from '../../model/net/ipv4';
import type { NetworkDefinition } from '../network-definition';
import { nftOwnerComment } from './ownership';

/** Every table Virtdesk creates starts with this; nothing else is ever touched. */
export const NFT_TABLE_PREFIX = 'virtdesk-';
export const NFT_FAMILY = 'ip';

export function nftTableName(networkName: string): string {
  return `${NFT_TABLE_PREFIX}${networkName}`;
}

type RulesetInput = Pick<NetworkDefinition, 'name' | 'mode' | 'bridge' | 'ipv4' | 'uplink'>;

/**
 * The nft script for one network: its own table, replaced atomically (add + delete + define
 * in one transaction), so re-applying never duplicates rules and other tables are untouched.
 * Names are validated before they get here (letters, digits, `-_.`), so quoting is plain.
 * The table's comment records its owner (the uid the helper acted for).
 */
export function buildNftRuleset(net: RulesetInput, owner: number): string {
  const table = nftTableName(net.name);
  const subnet = formatSubnet(parseCidr(net.ipv4));
  const br = `"${net.bridge}"`;
  const out = net.uplink ? ` oifname "${net.uplink}"` : '';
  const inFromUplink = net.uplink ? ` iifname "${net.uplink}"` : '';
  const lines: string[] = [
    `# Virtdesk network "${net.name}" (${net.mode})`,
    `add table ${NFT_FAMILY} ${table}`,
    `delete table ${NFT_FAMILY} ${table}`,
    `table ${NFT_FAMILY} ${table} {`,
    `  ${nftOwnerComment(owner)}`,
  ];
  if (net.mode === 'nat') {
    lines.push(
      '  chain postrouting {',
      '    type nat hook postrouting priority srcnat; policy accept;',
      // Multicast and broadcast stay unmasqueraded, as libvirt does.
      `    ip saddr ${subnet} ip daddr 224.0.0.0/24 return`,
      `    ip saddr ${subnet} ip daddr 255.255.255.255 return`,
      `    ip saddr ${subnet} ip daddr != ${subnet}${out} meta l4proto { tcp, udp } masquerade to :1024-65535`,
      `    ip saddr ${subnet} ip daddr != ${subnet}${out} masquerade`,
      '  }',
    );
  }
  lines.push(
    '  chain forward {',
    '    type filter hook forward priority filter; policy accept;',
    // Guest-to-guest traffic on the bridge: with br_netfilter loaded it passes this hook too.
    `    iifname ${br} oifname ${br} accept`,
  );
  if (net.mode === 'nat') {
    lines.push(
      `    iifname ${br} ip saddr ${subnet}${out} accept`,
      `    oifname ${br} ip daddr ${subnet}${inFromUplink} ct state established,related accept`,
    );
  } else if (net.mode === 'routed') {
    lines.push(
      `    iifname ${br} ip saddr ${subnet}${out} accept`,
      `    oifname ${br} ip daddr ${subnet}${inFromUplink} accept`,
    );
  }
  lines.push(
    `    iifname ${br} reject with icmp type port-unreachable`,
    `    oifname ${br} reject with icmp type port-unreachable`,
    '  }',
    '}',
  );
  return `${lines.join('\n')}\n`;
}

/** Deletes the table if it exists (the add makes the delete safe when it does not). */
export function buildNftRemoval(networkName: string): string {
  const table = nftTableName(networkName);
  return `add table ${NFT_FAMILY} ${table}\ndelete table ${NFT_FAMILY} ${table}\n`;
}
