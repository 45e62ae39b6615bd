import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { chmod, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { EngineError } from '../../api/errors';
import type { CommandRunner } from '../command-runner';
import { assertSubnetFree, readHostRoutes } from '../host-routes';
import { parseCidr } from '../../model/net/ipv4';
import type { NetworkDefinition } from '../network-definition';
import { buildDnsmasqConfig } from './dnsmasq-config';
import { buildNftRemoval, buildNftRuleset, nftTableName } from './nft-ruleset';
import { networkStatePaths } from './state-paths';
import { findDnsmasqPids, stopProcess } from './dnsmasq-process';
import { assertOwner, formatLinkTag, parseLinkTag, parseNftOwner, ROOT_UID, type LinkKind, type LinkTag } from './ownership';
import type { OperationResults, PrivilegedOperation, ResultOf } from './operations';

/** Where and how the helper acts: its state folder and the runner for host tools. */
export interface ExecutionContext {
  runner: CommandRunner;
  /** Folder holding one sub-folder per network (dnsmasq config, pid and lease files). */
  stateRoot: string;
  /** The uid of the user the helper acts for: it owns what is created, and may touch only what it owns. */
  caller: number;
}

/** In a network's dnsmasq folder: the uid that started it. */
const OWNER_FILE = 'owner';
export const DNSMASQ_BINARY = '/usr/sbin/dnsmasq';

interface LinkInfo {
  ifname: string;
  address?: string;
  master?: string;
  ifalias?: string;
  linkinfo?: { info_kind?: string };
}

async function ip(ctx: ExecutionContext, args: string[], what: string): Promise<string> {
  const result = await ctx.runner.run('ip', args);
  if (result.code !== 0) {
    throw new EngineError('internal', `${what} failed: ip ${args.join(' ')}: ${result.stderr.trim() || `exit ${result.code}`}`);
  }
  return result.stdout;
}

export async function readLink(ctx: Pick<ExecutionContext, 'runner'>, name: string): Promise<LinkInfo | undefined> {
  const result = await ctx.runner.run('ip', ['-j', '-d', 'link', 'show', 'dev', name]);
  if (result.code !== 0) return undefined;
  const parsed = JSON.parse(result.stdout || '[]') as LinkInfo[];
  return parsed[0];
}

function notOurs(name: string): EngineError {
  return new EngineError('permission-denied', `Interface ${name} was not created by Virtdesk; the helper leaves it alone`, {
    hint: 'Choose another name, or remove that interface yourself if it is left over.',
  });
}

/** The link's tag when it is Virtdesk's link of this kind and belongs to the caller; refuses anything else. */
function ownLink(ctx: ExecutionContext, link: LinkInfo, kind: LinkKind): LinkTag {
  const tag = parseLinkTag(link.ifalias);
  if (!tag || tag.kind !== kind) throw notOurs(link.ifname);
  assertOwner(`Interface ${link.ifname}`, tag.owner, ctx.caller);
  return tag;
}

function tagLink(ctx: ExecutionContext, name: string, kind: LinkKind, detail = ''): Promise<string> {
  return ip(ctx, ['link', 'set', 'dev', name, 'alias', formatLinkTag({ kind, detail, owner: ctx.caller })], `Tagging ${name}`);
}

async function createBridge(ctx: ExecutionContext, op: Extract<PrivilegedOperation, { op: 'bridge.create' }>): Promise<OperationResults['bridge.create']> {
  const existing = await readLink(ctx, op.bridge);
  if (existing && parseLinkTag(existing.ifalias)?.kind !== 'network') {
    throw new EngineError('already-exists', `Interface ${op.bridge} already exists and is not a Virtdesk network bridge`, {
      hint: 'Give the network another bridge name.',
    });
  }
  if (existing) ownLink(ctx, existing, 'network');
  // Checked here again, not only in the engine: a caller could otherwise put a bridge on the host's own LAN.
  assertSubnetFree(parseCidr(op.ipv4), await readHostRoutes(ctx.runner), op.bridge);
  if (!existing) {
    // A fixed MAC: otherwise the bridge takes the lowest MAC of its ports and changes it as taps come and go.
    await ip(ctx, ['link', 'add', op.bridge, 'address', bridgeMacFor(op.network), 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0'], `Creating bridge ${op.bridge}`);
  }
  try {
    await tagLink(ctx, op.bridge, 'network', op.network);
    await ip(ctx, ['addr', 'replace', op.ipv4, 'dev', op.bridge], `Setting ${op.ipv4} on ${op.bridge}`);
    await ip(ctx, ['link', 'set', 'dev', op.bridge, 'up'], `Bringing ${op.bridge} up`);
  } catch (error) {
    if (!existing) await ctx.runner.run('ip', ['link', 'del', op.bridge]);
    throw error;
  }
  return { created: !existing };
}

/** A stable locally administered MAC per network (52:54:00 like QEMU's, from a hash of the name). */
export function bridgeMacFor(networkName: string): string {
  const digest = createHash('sha256').update(`virtdesk-bridge\0${networkName}`).digest();
  return ['52', '54', '00', ...[...digest.subarray(0, 3)].map((b) => b.toString(16).padStart(2, '0'))].join(':');
}

async function deleteOwnLink(ctx: ExecutionContext, name: string, kind: LinkKind): Promise<boolean> {
  const link = await readLink(ctx, name);
  if (!link) return false;
  ownLink(ctx, link, kind);
  await ip(ctx, ['link', 'del', 'dev', name], `Deleting ${name}`);
  return true;
}

async function addTap(ctx: ExecutionContext, op: Extract<PrivilegedOperation, { op: 'tap.add' }>): Promise<OperationResults['tap.add']> {
  const bridge = await readLink(ctx, op.bridge);
  if (!bridge || bridge.linkinfo?.info_kind !== 'bridge' || parseLinkTag(bridge.ifalias)?.kind !== 'network') {
    throw new EngineError('not-found', `Bridge ${op.bridge} is not a running Virtdesk network bridge`, { hint: 'Start the network first.' });
  }
  ownLink(ctx, bridge, 'network');
  const existing = await readLink(ctx, op.tap);
  if (existing) ownLink(ctx, existing, 'tap');
  if (!existing) await ip(ctx, ['tuntap', 'add', 'dev', op.tap, 'mode', 'tap', 'user', String(op.uid)], `Creating tap ${op.tap}`);
  try {
    await tagLink(ctx, op.tap, 'tap');
    await ip(ctx, ['link', 'set', 'dev', op.tap, 'master', op.bridge], `Attaching ${op.tap} to ${op.bridge}`);
    await ip(ctx, ['link', 'set', 'dev', op.tap, 'up'], `Bringing ${op.tap} up`);
  } catch (error) {
    if (!existing) await ctx.runner.run('ip', ['link', 'del', op.tap]);
    throw error;
  }
  return { created: !existing };
}

/**
 * dnsmasq and nft rules act on the interface a network spec names: it must be the caller's own
 * bridge for that network, or a caller could serve DHCP on, or rewrite the firewall of, the LAN.
 */
async function assertOwnNetworkBridge(ctx: ExecutionContext, network: NetworkDefinition): Promise<void> {
  const link = await readLink(ctx, network.bridge);
  if (!link || link.linkinfo?.info_kind !== 'bridge') {
    throw new EngineError('not-found', `Bridge ${network.bridge} of network ${network.name} does not exist`, { hint: 'Create the bridge first (starting the network does).' });
  }
  const tag = ownLink(ctx, link, 'network');
  if (tag.detail !== network.name) {
    throw new EngineError('permission-denied', `Bridge ${network.bridge} belongs to network ${tag.detail}, not ${network.name}`, { hint: 'Give each network its own bridge.' });
  }
}

/** Who owns a network's dnsmasq folder: its `owner` file; root when the folder has none; undefined when there is no folder. */
async function dnsmasqOwner(dir: string): Promise<number | undefined> {
  const text = await readFile(join(dir, OWNER_FILE), 'utf8').catch(() => undefined);
  if (text !== undefined && /^\d+\s*$/.test(text)) return Number(text.trim());
  return (await stat(dir).then(() => true, () => false)) ? ROOT_UID : undefined;
}

async function assertDnsmasqOwner(ctx: ExecutionContext, networkName: string, dir: string): Promise<void> {
  const owner = await dnsmasqOwner(dir);
  if (owner !== undefined) assertOwner(`The DHCP/DNS server of network ${networkName}`, owner, ctx.caller);
}

async function startDnsmasq(ctx: ExecutionContext, network: NetworkDefinition): Promise<OperationResults['dnsmasq.start']> {
  const paths = networkStatePaths(ctx.stateRoot, network.name);
  await assertOwnNetworkBridge(ctx, network);
  await stopDnsmasq(ctx, network.name, false);
  await mkdir(paths.dir, { recursive: true, mode: 0o755 });
  // Readable by the unprivileged engine, which reads the leases to show guests' addresses.
  await chmod(paths.dir, 0o755);
  await writeFile(join(paths.dir, OWNER_FILE), `${ctx.caller}\n`, { mode: 0o644 });
  await writeFile(paths.configFile, buildDnsmasqConfig(network, paths), { mode: 0o644 });
  await writeFile(paths.leaseFile, '', { flag: 'a', mode: 0o644 });
  await rm(paths.pidFile, { force: true });
  const result = await ctx.runner.run(DNSMASQ_BINARY, [`--conf-file=${paths.configFile}`]);
  if (result.code !== 0) {
    throw new EngineError('unavailable', `dnsmasq for network ${network.name} did not start: ${result.stderr.trim() || `exit ${result.code}`}`, {
      hint: 'Another DHCP/DNS server may hold the bridge address; check `ss -lunp`.',
    });
  }
  const pid = await waitForPidFile(paths.pidFile);
  return { pid, pidFile: paths.pidFile, leaseFile: paths.leaseFile };
}

async function waitForPidFile(pidFile: string): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const text = await readFile(pidFile, 'utf8').catch(() => '');
    const pid = Number(text.trim());
    if (Number.isInteger(pid) && pid > 0) return pid;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new EngineError('timeout', `dnsmasq started but wrote no pid file at ${pidFile}`);
}

async function stopDnsmasq(ctx: ExecutionContext, networkName: string, purge: boolean): Promise<OperationResults['dnsmasq.stop']> {
  const paths = networkStatePaths(ctx.stateRoot, networkName);
  await assertDnsmasqOwner(ctx, networkName, paths.dir);
  const pids = await findDnsmasqPids(paths);
  for (const pid of pids) await stopProcess(pid);
  await rm(paths.pidFile, { force: true });
  if (purge) await rm(paths.dir, { recursive: true, force: true });
  return { stopped: pids.length > 0 };
}

/** The owner of a network's nft table; undefined when there is no such table. */
async function nftOwner(ctx: ExecutionContext, networkName: string): Promise<number | undefined> {
  const listing = await ctx.runner.run('nft', ['list', 'table', 'ip', nftTableName(networkName)]);
  return listing.code === 0 ? parseNftOwner(listing.stdout) : undefined;
}

async function applyNft(ctx: ExecutionContext, network: NetworkDefinition): Promise<OperationResults['nft.apply']> {
  await assertOwnNetworkBridge(ctx, network);
  const owner = await nftOwner(ctx, network.name);
  if (owner !== undefined) assertOwner(`nftables table ip ${nftTableName(network.name)}`, owner, ctx.caller);
  await nft(ctx, buildNftRuleset(network, ctx.caller), `Applying firewall rules for network ${network.name}`);
  return { table: nftTableName(network.name) };
}

async function removeNft(ctx: ExecutionContext, networkName: string): Promise<OperationResults['nft.remove']> {
  const owner = await nftOwner(ctx, networkName);
  if (owner === undefined) return { removed: false };
  assertOwner(`nftables table ip ${nftTableName(networkName)}`, owner, ctx.caller);
  await nft(ctx, buildNftRemoval(networkName), `Removing firewall rules of network ${networkName}`);
  return { removed: true };
}

async function nft(ctx: ExecutionContext, script: string, what: string): Promise<void> {
  const result = await ctx.runner.run('nft', ['-f', '-'], { input: script });
  if (result.code !== 0) throw new EngineError('internal', `${what} failed: nft: ${result.stderr.trim() || `exit ${result.code}`}`);
}

async function enableIpForward(ctx: ExecutionContext): Promise<OperationResults['ipforward.enable']> {
  const current = await ctx.runner.run('sysctl', ['-n', 'net.ipv4.ip_forward']);
  if (current.stdout.trim() === '1') return { changed: false };
  const result = await ctx.runner.run('sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1']);
  if (result.code !== 0) throw new EngineError('internal', `Enabling IPv4 forwarding failed: ${result.stderr.trim()}`);
  return { changed: true };
}

interface AddressInfo {
  family: string;
  local: string;
  prefixlen: number;
  broadcast?: string;
  scope?: string;
}
interface RouteInfo {
  dst: string;
  gateway?: string;
  protocol?: string;
  scope?: string;
  metric?: number;
  prefsrc?: string;
}

async function readAddresses(ctx: ExecutionContext, dev: string): Promise<AddressInfo[]> {
  const out = await ip(ctx, ['-j', '-4', 'addr', 'show', 'dev', dev], `Reading addresses of ${dev}`);
  const parsed = JSON.parse(out || '[]') as { addr_info?: AddressInfo[] }[];
  return (parsed[0]?.addr_info ?? []).filter((a) => a.family === 'inet');
}

/** Routes through `dev` that the kernel does not recreate by itself when the address moves. */
async function readMovableRoutes(ctx: ExecutionContext, dev: string): Promise<RouteInfo[]> {
  const out = await ip(ctx, ['-j', '-4', 'route', 'show', 'dev', dev], `Reading routes of ${dev}`);
  return (JSON.parse(out || '[]') as RouteInfo[]).filter((r) => r.protocol !== 'kernel');
}

function routeArgs(route: RouteInfo, dev: string): string[] {
  const args = ['route', 'replace', route.dst];
  if (route.gateway) args.push('via', route.gateway);
  args.push('dev', dev);
  if (route.metric !== undefined) args.push('metric', String(route.metric));
  if (route.protocol) args.push('proto', route.protocol);
  if (route.scope && route.scope !== 'global') args.push('scope', route.scope);
  if (route.prefsrc) args.push('src', route.prefsrc);
  return args;
}

/** Moves IPv4 addresses and routes from one interface to another (addresses first: routes need them). */
async function moveAddressing(ctx: ExecutionContext, from: string, to: string): Promise<{ addresses: string[]; routes: string[] }> {
  const addresses = await readAddresses(ctx, from);
  const routes = await readMovableRoutes(ctx, from);
  await ip(ctx, ['-4', 'addr', 'flush', 'dev', from], `Removing addresses from ${from}`);
  for (const a of addresses) {
    const args = ['addr', 'replace', `${a.local}/${a.prefixlen}`, 'dev', to];
    if (a.broadcast) args.push('broadcast', a.broadcast);
    await ip(ctx, args, `Moving ${a.local}/${a.prefixlen} to ${to}`);
  }
  for (const r of routes) await ip(ctx, routeArgs(r, to), `Moving the route to ${r.dst} to ${to}`);
  return { addresses: addresses.map((a) => `${a.local}/${a.prefixlen}`), routes: routes.map((r) => r.dst) };
}

async function createHostBridge(ctx: ExecutionContext, op: Extract<PrivilegedOperation, { op: 'hostbridge.create' }>): Promise<OperationResults['hostbridge.create']> {
  const iface = await readLink(ctx, op.interface);
  if (!iface) throw new EngineError('not-found', `Interface ${op.interface} does not exist`, { hint: 'List interfaces with `ip link`.' });
  if (iface.master) throw new EngineError('conflict', `Interface ${op.interface} is already part of ${iface.master}`);
  const kind = iface.linkinfo?.info_kind;
  if (kind === 'bridge' || kind === 'tun' || parseLinkTag(iface.ifalias) || op.interface === 'lo') {
    throw new EngineError('invalid-argument', `Interface ${op.interface} cannot be put into a host bridge (it is ${kind === 'bridge' ? 'a bridge' : kind === 'tun' ? 'a tap' : 'not a physical interface'})`, {
      hint: 'Name the host\'s Ethernet interface, e.g. eth0 or enp3s0.',
    });
  }
  if (await readLink(ctx, op.bridge)) throw new EngineError('already-exists', `Interface ${op.bridge} already exists`, { hint: 'Choose another bridge name.' });
  await ip(ctx, ['link', 'add', op.bridge, 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0'], `Creating bridge ${op.bridge}`);
  try {
    await tagLink(ctx, op.bridge, 'hostbridge', op.interface);
    // Same MAC as the interface: the LAN's DHCP server and switches keep seeing the host as before.
    if (iface.address) await ip(ctx, ['link', 'set', 'dev', op.bridge, 'address', iface.address], `Setting ${op.bridge}'s MAC`);
    await ip(ctx, ['link', 'set', 'dev', op.bridge, 'up'], `Bringing ${op.bridge} up`);
    await ip(ctx, ['link', 'set', 'dev', op.interface, 'master', op.bridge], `Adding ${op.interface} to ${op.bridge}`);
    const moved = await moveAddressing(ctx, op.interface, op.bridge);
    return { movedAddresses: moved.addresses, movedRoutes: moved.routes };
  } catch (error) {
    await undoHostBridge(ctx, op.bridge, op.interface).catch(() => undefined);
    throw error;
  }
}

async function undoHostBridge(ctx: ExecutionContext, bridge: string, iface: string): Promise<void> {
  const addresses = await readAddresses(ctx, bridge).catch(() => []);
  const routes = await readMovableRoutes(ctx, bridge).catch(() => []);
  await ctx.runner.run('ip', ['link', 'set', 'dev', iface, 'nomaster']);
  await ctx.runner.run('ip', ['link', 'del', 'dev', bridge]);
  for (const a of addresses) await ctx.runner.run('ip', ['addr', 'replace', `${a.local}/${a.prefixlen}`, 'dev', iface]);
  for (const r of routes) await ctx.runner.run('ip', routeArgs(r, iface));
}

async function deleteHostBridge(ctx: ExecutionContext, bridgeName: string): Promise<OperationResults['hostbridge.delete']> {
  const bridge = await readLink(ctx, bridgeName);
  if (!bridge) return { deleted: false, restoredTo: undefined };
  const iface = ownLink(ctx, bridge, 'hostbridge').detail;
  const ifaceLink = iface ? await readLink(ctx, iface) : undefined;
  if (!ifaceLink) {
    await ip(ctx, ['link', 'del', 'dev', bridgeName], `Deleting ${bridgeName}`);
    return { deleted: true, restoredTo: undefined };
  }
  const addresses = await readAddresses(ctx, bridgeName);
  const routes = await readMovableRoutes(ctx, bridgeName);
  await ip(ctx, ['link', 'set', 'dev', iface, 'nomaster'], `Releasing ${iface}`);
  await ip(ctx, ['link', 'del', 'dev', bridgeName], `Deleting ${bridgeName}`);
  await ip(ctx, ['link', 'set', 'dev', iface, 'up'], `Bringing ${iface} up`);
  for (const a of addresses) {
    const args = ['addr', 'replace', `${a.local}/${a.prefixlen}`, 'dev', iface];
    if (a.broadcast) args.push('broadcast', a.broadcast);
    await ip(ctx, args, `Restoring ${a.local}/${a.prefixlen} on ${iface}`);
  }
  for (const r of routes) await ip(ctx, routeArgs(r, iface), `Restoring the route to ${r.dst} on ${iface}`);
  return { deleted: true, restoredTo: iface };
}

/** Runs one already-validated operation. The helper and the in-process root path both end here. */
export async function executeOperation<O extends PrivilegedOperation>(op: O, ctx: ExecutionContext): Promise<ResultOf<O>> {
  return (await dispatch(op, ctx)) as ResultOf<O>;
}

async function dispatch(op: PrivilegedOperation, ctx: ExecutionContext): Promise<OperationResults[keyof OperationResults]> {
  switch (op.op) {
    case 'bridge.create':
      return createBridge(ctx, op);
    case 'bridge.delete':
      return { deleted: await deleteOwnLink(ctx, op.bridge, 'network') };
    case 'tap.add':
      return addTap(ctx, op);
    case 'tap.remove':
      return { removed: await deleteOwnLink(ctx, op.tap, 'tap') };
    case 'dnsmasq.start':
      return startDnsmasq(ctx, op.network);
    case 'dnsmasq.stop':
      return stopDnsmasq(ctx, op.network, op.purge ?? false);
    case 'nft.apply':
      return applyNft(ctx, op.network);
    case 'nft.remove':
      return removeNft(ctx, op.network);
    case 'ipforward.enable':
      return enableIpForward(ctx);
    case 'hostbridge.create':
      return createHostBridge(ctx, op);
    case 'hostbridge.delete':
      return deleteHostBridge(ctx, op.bridge);
  }
}
