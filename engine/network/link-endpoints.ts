import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { EngineError } from '../api/errors';
import type { LinkRole } from '../model/nic';
import { runtimeRoot } from '../paths';
import { ensurePrivateDir, fallbackRuntimeRoot, MAX_SOCKET_PATH_BYTES } from '../vm/runtime/paths';
import { validateNetworkName } from '../model/net/network-names';
import { findSocketOwners } from './port-holders';

/**
 * Private VM-to-VM links: QEMU 7.2's `-netdev dgram` between two unix datagram sockets. Each
 * end binds its own socket and sends to the other's, so either VM can start first or restart
 * alone (datagrams to an absent peer are dropped, like a cable with nothing at the far end).
 * The sockets live in the user's 0700 runtime folder: no privileges needed, nobody else can join.
 */
export interface LinkEndpoint {
  localPath: string;
  remotePath: string;
}

/** Longest link socket name: `<dir>/a.sock`. */
const SOCKET_FILE = 'a.sock';

export function linkDir(home: string, linkName: string, env: NodeJS.ProcessEnv = process.env): string {
  const root = runtimeRoot(home, env);
  const name = validateNetworkName(linkName, 'link name');
  const normal = join(root, 'links', name);
  // Same fallback as VM sockets when the runtime folder is too deep for sun_path.
  if (Buffer.byteLength(join(normal, SOCKET_FILE)) <= MAX_SOCKET_PATH_BYTES) return normal;
  return join(fallbackRuntimeRoot(root), 'links', name);
}

export function linkEndpointPaths(home: string, linkName: string, role: LinkRole, env: NodeJS.ProcessEnv = process.env): LinkEndpoint {
  const dir = linkDir(home, linkName, env);
  const other: LinkRole = role === 'a' ? 'b' : 'a';
  return { localPath: join(dir, `${role}.sock`), remotePath: join(dir, `${other}.sock`) };
}

/** Inodes of unix sockets currently bound to `path` (from /proc/net/unix). */
export async function boundUnixSocketInodes(path: string, procRoot = '/proc'): Promise<number[]> {
  const text = await readFile(`${procRoot}/net/unix`, 'utf8').catch(() => '');
  const inodes: number[] = [];
  for (const line of text.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length >= 8 && fields.slice(7).join(' ') === path) inodes.push(Number(fields[6]));
  }
  return inodes;
}

/**
 * Prepares one end for a VM start: creates the link's folder (0700) and refuses when another
 * process already has this end bound (two VMs configured as the same end of one link).
 */
export async function prepareLinkEndpoint(home: string, linkName: string, role: LinkRole, env: NodeJS.ProcessEnv = process.env): Promise<LinkEndpoint> {
  const endpoint = linkEndpointPaths(home, linkName, role, env);
  await ensurePrivateDir(linkDir(home, linkName, env));
  const inodes = await boundUnixSocketInodes(endpoint.localPath);
  if (inodes.length > 0) {
    const holders = (await Promise.all(inodes.map((inode) => findSocketOwners(inode)))).flat();
    const who = holders.length > 0 ? holders.map((h) => `${h.name} (pid ${h.pid})`).join(', ') : 'another process';
    throw new EngineError('conflict', `End ${role} of link ${linkName} is already in use by ${who}`, {
      hint: `Each end of a link belongs to one running VM; set this NIC to the other end (${role === 'a' ? 'b' : 'a'}) or stop the other VM.`,
      details: { link: linkName, role, holders },
    });
  }
  return endpoint;
}

/** Removes this end's socket file after its VM stopped (QEMU leaves it behind), and the folder once empty. */
export async function releaseLinkEndpoint(home: string, linkName: string, role: LinkRole, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const endpoint = linkEndpointPaths(home, linkName, role, env);
  if ((await boundUnixSocketInodes(endpoint.localPath)).length > 0) return; // still in use: not ours to remove
  await rm(endpoint.localPath, { force: true });
  await rm(linkDir(home, linkName, env), { recursive: false }).catch(() => undefined);
}
