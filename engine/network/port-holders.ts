import { readdir, readFile, readlink } from 'node:fs/promises';
import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';
import { EngineError } from '../api/errors';
import type { PortProtocol } from '../model/net/port-forward-spec';

/** A socket found in /proc/net/{tcp,udp}{,6} bound to a port. */
export interface BoundSocket {
  protocol: PortProtocol;
  address: string;
  port: number;
  inode: number;
  uid: number;
}

export interface PortHolder {
  pid: number;
  /** The process name (comm). */
  name: string;
  commandLine: string;
}

const TCP_LISTEN = '0A';
const UDP_UNCONNECTED = '07';

/** Decodes the kernel's hex address: IPv4 is one host-order 32-bit word, IPv6 four of them. */
export function decodeProcAddress(hex: string): string {
  const littleEndianWord = (word: string) => [6, 4, 2, 0].map((i) => parseInt(word.slice(i, i + 2), 16));
  if (hex.length === 8) return littleEndianWord(hex).join('.');
  const bytes: number[] = [];
  for (let i = 0; i < 32; i += 8) bytes.push(...littleEndianWord(hex.slice(i, i + 8)));
  const isV4Mapped = bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 255 && bytes[11] === 255;
  if (isV4Mapped) return `::ffff:${bytes.slice(12).join('.')}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0)).toString(16));
  const full = groups.join(':');
  if (full === '0:0:0:0:0:0:0:0') return '::';
  if (full === '0:0:0:0:0:0:0:1') return '::1';
  return full;
}

/** Parses one /proc/net/{tcp,udp}{,6} table, keeping sockets bound for listening (TCP LISTEN, unconnected UDP). */
export function parseProcNetTable(text: string, protocol: PortProtocol): BoundSocket[] {
  const sockets: BoundSocket[] = [];
  for (const line of text.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 10) continue;
    const [local, state] = [fields[1] ?? '', fields[3] ?? ''];
    if (state !== (protocol === 'tcp' ? TCP_LISTEN : UDP_UNCONNECTED)) continue;
    const [addressHex, portHex] = local.split(':');
    if (!addressHex || !portHex) continue;
    sockets.push({ protocol, address: decodeProcAddress(addressHex), port: parseInt(portHex, 16), uid: Number(fields[7]), inode: Number(fields[9]) });
  }
  return sockets;
}

const WILDCARDS = new Set(['0.0.0.0', '::', '::ffff:0.0.0.0']);

/** Whether a socket bound at `bound` keeps us from binding IPv4 `wanted` on the same port. */
export function addressesCollide(bound: string, wanted: string): boolean {
  if (WILDCARDS.has(bound) || WILDCARDS.has(wanted)) return true;
  return bound === wanted || bound === `::ffff:${wanted}`;
}

export async function readBoundSockets(protocol: PortProtocol, procRoot = '/proc'): Promise<BoundSocket[]> {
  const sockets: BoundSocket[] = [];
  for (const file of [protocol, `${protocol}6`]) {
    const text = await readFile(`${procRoot}/net/${file}`, 'utf8').catch(() => '');
    sockets.push(...parseProcNetTable(text, protocol));
  }
  return sockets;
}

/** Finds the processes that hold a socket inode, among those whose /proc/PID/fd we may read. */
export async function findSocketOwners(inode: number, procRoot = '/proc'): Promise<PortHolder[]> {
  const target = `socket:[${inode}]`;
  const holders: PortHolder[] = [];
  const pids = (await readdir(procRoot).catch(() => [] as string[])).filter((entry) => /^[0-9]+$/.test(entry));
  for (const pid of pids) {
    const fds = await readdir(`${procRoot}/${pid}/fd`).catch(() => [] as string[]);
    let found = false;
    for (const fd of fds) {
      if ((await readlink(`${procRoot}/${pid}/fd/${fd}`).catch(() => '')) === target) {
        found = true;
        break;
      }
    }
    if (!found) continue;
    const name = (await readFile(`${procRoot}/${pid}/comm`, 'utf8').catch(() => '?')).trim();
    const commandLine = (await readFile(`${procRoot}/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0').filter(Boolean).join(' ');
    holders.push({ pid: Number(pid), name, commandLine });
  }
  return holders;
}

/** Tries to bind the port the way QEMU's slirp would; true when the bind works. */
export function canBind(protocol: PortProtocol, address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (protocol === 'tcp') {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen({ host: address, port, exclusive: true }, () => server.close(() => resolve(true)));
    } else {
      const socket = createSocket('udp4');
      socket.once('error', () => {
        socket.close();
        resolve(false);
      });
      socket.bind({ address, port, exclusive: true }, () => socket.close(() => resolve(true)));
    }
  });
}

function describeHolders(holders: readonly PortHolder[]): string {
  return holders.map((h) => `${h.name} (pid ${h.pid})`).join(', ');
}

/**
 * Refuses a host port another socket holds, naming the process when /proc lets us see it.
 * Pass `ignorePids` to allow a port the VM's own QEMU already holds.
 */
export async function assertHostPortFree(protocol: PortProtocol, address: string, port: number, options: { procRoot?: string } = {}): Promise<void> {
  const bound = (await readBoundSockets(protocol, options.procRoot)).filter((s) => s.port === port && addressesCollide(s.address, address));
  const free = bound.length === 0 && (await canBind(protocol, address, port));
  if (free) return;
  const holders: PortHolder[] = [];
  for (const socket of bound) holders.push(...(await findSocketOwners(socket.inode, options.procRoot)));
  const unique = [...new Map(holders.map((h) => [h.pid, h])).values()];
  const where = `${protocol.toUpperCase()} port ${port} on ${address}`;
  if (unique.length > 0) {
    throw new EngineError('conflict', `${where} is already in use by ${describeHolders(unique)}`, {
      hint: 'Choose another host port, or stop that program.',
      details: { protocol, address, port, holders: unique.map((h) => ({ pid: h.pid, name: h.name, commandLine: h.commandLine })) },
    });
  }
  const owner = bound[0] ? ` (a socket owned by uid ${bound[0].uid})` : '';
  throw new EngineError('conflict', `${where} is already in use${owner}`, {
    hint: 'Choose another host port; the program holding it is not visible to this user.',
    details: { protocol, address, port },
  });
}
