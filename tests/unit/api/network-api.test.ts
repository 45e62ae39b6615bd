// Contract tests of the networks service over the in-memory RPC transport: the real service
// (createNetworkService). Virtual networks run as root inside a network namespace this test makes;
// port forwards are checked against a real QEMU (no guest, `-S`) with a user-mode netdev.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defineContract } from '../../../engine/api/contract';
import { EngineError } from '../../../engine/api/errors';
import { createEventBus } from '../../../engine/api/events';
import { networkEvents, networkMethods } from '../../../engine/api/network-api';
import { createRpcClient, type RpcClient } from '../../../engine/api/rpc-client';
import { serveRpc } from '../../../engine/api/rpc-server';
import { createMemoryTransportPair } from '../../../engine/api/transport';
import { createVmDefinition } from '../../../engine/model';
import { netnsRunner } from '../../../engine/network/command-runner';
import { NetworkManager } from '../../../engine/network/network-manager';
import { createNetworkService } from '../../../engine/network/network-service';
import { prepareRuntimeDir, vmRuntimePaths } from '../../../engine/vm/runtime/paths';
import { openVmStore } from '../../../engine/vm/definitions/store';

const contract = defineContract({ services: { networks: networkMethods }, events: networkEvents });
const isRoot = (process.geteuid?.() ?? 1) === 0;

let home: string;
let env: NodeJS.ProcessEnv;
let client: RpcClient<typeof contract>;
let server: { close(): void };
let cleanups: (() => Promise<unknown> | unknown)[];

function connect(manager?: NetworkManager) {
  const bus = createEventBus<Record<string, unknown>>();
  const [serverSide, clientSide] = createMemoryTransportPair();
  server = serveRpc(contract, { networks: createNetworkService({ home, env, bus, ...(manager ? { manager } : {}) }) }, bus, serverSide);
  client = createRpcClient(contract, clientSide, { defaultTimeoutMs: 60_000 });
}

beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'vd-net-api-'));
  env = { ...process.env, VIRTDESK_RUNTIME_DIR: join(home, 'run') };
  cleanups = [];
});

afterEach(async () => {
  client?.close();
  server?.close();
  for (const cleanup of cleanups.reverse()) await cleanup();
  await rm(home, { recursive: true, force: true });
});

async function rejection(promise: Promise<unknown>): Promise<EngineError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(EngineError);
  return error as EngineError;
}

function inNs(ns: string, ...args: string[]): string {
  const result = spawnSync('ip', ['netns', 'exec', ns, ...args], { encoding: 'utf8' });
  return result.stdout;
}

describe.skipIf(!isRoot)('networks service over RPC (root, in a namespace)', () => {
  let ns: string;

  beforeEach(() => {
    ns = `vdapi-${process.pid}-${Math.floor(Math.random() * 1e6)}`.slice(0, 15);
    expect(spawnSync('ip', ['netns', 'add', ns]).status).toBe(0);
    spawnSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    cleanups.push(() => spawnSync('ip', ['netns', 'del', ns]));
    const manager = new NetworkManager({ home, env, runner: netnsRunner(ns), stateRoot: join(home, 'netstate') });
    // Runs before the namespace goes, so a failing test leaves no dnsmasq behind.
    cleanups.push(async () => {
      for (const status of (await manager.list()).items) await manager.delete(status.definition.id, { force: true }).catch(() => undefined);
    });
    connect(manager);
  });

  it('creates, starts, lists, stops and deletes a NAT network, leaving nothing behind', async () => {
    const changes: string[][] = [];
    client.on('networks.changed', (event) => changes.push(event.ids));
    const created = await client.api.networks.create({ name: 'lab', mode: 'nat', ipv4: '10.77.0.1/24', dhcp: { start: '10.77.0.100', end: '10.77.0.150' } });
    expect(created).toMatchObject({ name: 'lab', mode: 'nat', ipv4: '10.77.0.1/24', dhcp: { start: '10.77.0.100', end: '10.77.0.150' }, state: 'inactive', dns: true });

    const started = await client.api.networks.start({ ref: 'lab' });
    expect(started.state).toBe('active');
    expect(started.dnsmasqPid).toBeGreaterThan(0);
    expect(inNs(ns, 'ip', '-j', 'addr', 'show', created.bridge)).toContain('10.77.0.1');

    const listed = await client.api.networks.list({});
    expect(listed.privileges).toEqual({ root: true, note: null });
    expect(listed.networks.map((n) => [n.name, n.state])).toEqual([['lab', 'active']]);
    expect(await client.api.networks.leases({ ref: 'lab' })).toEqual([]);

    const stopped = await client.api.networks.stop({ ref: created.id });
    expect(stopped.state).toBe('inactive');
    expect(inNs(ns, 'ip', 'link', 'show')).not.toContain(created.bridge);

    await client.api.networks.start({ ref: 'lab' });
    expect(await client.api.networks.delete({ ref: 'lab' })).toBeNull();
    expect((await client.api.networks.list({})).networks).toEqual([]);
    expect(inNs(ns, 'ip', 'link', 'show')).not.toContain(created.bridge);
    expect(inNs(ns, 'nft', 'list', 'tables')).not.toContain('lab');
    await expect.poll(() => changes.length).toBeGreaterThanOrEqual(5);
    expect(changes.every((ids) => ids[0] === created.id)).toBe(true);
  });

  it('explains invalid networks in words, field by field', async () => {
    const badSubnet = await rejection(client.api.networks.create({ name: 'bad', ipv4: '10.77.0.0/33' }));
    expect(badSubnet.code).toBe('invalid-argument');
    expect(badSubnet.message).toContain('10.77.0.0/33');
    expect(badSubnet.message).toContain('prefix length');
    const badRange = await rejection(client.api.networks.create({ name: 'bad', ipv4: '10.78.0.1/24', dhcp: { start: '10.79.0.10', end: '10.79.0.20' } }));
    expect(badRange.code).toBe('invalid-argument');
    expect(badRange.message).toMatch(/10\.79\.0\.10/);
    const missing = await rejection(client.api.networks.start({ ref: 'nope' }));
    expect(missing.code).toBe('not-found');
  });
});

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

function portTaken(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer().once('error', () => resolve(true));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(false)));
  });
}

describe('port forwards of a VM on user-mode NAT', () => {
  beforeEach(() => connect());

  async function createVm() {
    const def = createVmDefinition({ name: 'fwd' });
    await openVmStore(home).create(def);
    return def;
  }

  /** A real QEMU standing in for the VM: its pidfile and one-shot QMP socket where the engine looks, and the NIC's user netdev. */
  async function launchQemu(id: string, nicId: string): Promise<ChildProcess> {
    const paths = vmRuntimePaths(home, id, env);
    await prepareRuntimeDir(paths);
    const qemu = spawn('qemu-system-x86_64', ['-S', '-nodefaults', '-machine', 'none', '-display', 'none', '-pidfile', paths.pidFile, '-qmp', `unix:${paths.qmpCommandSocket},server=on,wait=off`, '-netdev', `user,id=${nicId}-backend`], { stdio: 'ignore' });
    cleanups.push(async () => {
      qemu.kill('SIGKILL');
      if (qemu.exitCode === null) await new Promise((resolve) => qemu.once('exit', resolve));
    });
    await expect.poll(async () => (await readFile(paths.pidFile, 'utf8').catch(() => '')).trim(), { timeout: 15_000 }).toBe(String(qemu.pid));
    return qemu;
  }

  it('saves forwards of a stopped VM in its definition', async () => {
    const def = await createVm();
    const nicId = def.nics[0]!.id;
    const port = await freePort();
    const added = await client.api.networks.addPortForward({ vmId: 'fwd', forward: { hostPort: port, guestPort: 80 } });
    expect(added).toEqual({ vmId: def.id, running: false, userNics: [nicId], forwards: [{ nicId, forward: { protocol: 'tcp', hostAddress: '127.0.0.1', hostPort: port, guestPort: 80 }, active: null }] });
    const stored = await openVmStore(home).get(def.id);
    expect(stored.nics[0]!.network).toMatchObject({ kind: 'user', portForwards: [{ hostPort: port, guestPort: 80 }] });

    const clash = await rejection(client.api.networks.addPortForward({ vmId: def.id, nicId, forward: { hostPort: port, guestPort: 22 } }));
    expect(clash.code).toBe('already-exists');
    const wrongNic = await rejection(client.api.networks.addPortForward({ vmId: def.id, nicId: 'nope', forward: { hostPort: port + 1, guestPort: 22 } }));
    expect(wrongNic.code).toBe('not-found');
    const removed = await client.api.networks.removePortForward({ vmId: def.id, protocol: 'tcp', hostPort: port });
    expect(removed.forwards).toEqual([]);
    expect((await rejection(client.api.networks.removePortForward({ vmId: def.id, protocol: 'tcp', hostPort: port }))).code).toBe('not-found');
  });

  it('adds and removes forwards of a running VM live, in QEMU and in the definition', async () => {
    const def = await createVm();
    const nicId = def.nics[0]!.id;
    await launchQemu(def.id, nicId);
    const port = await freePort();
    const added = await client.api.networks.addPortForward({ vmId: def.id, nicId, forward: { protocol: 'tcp', hostPort: port, guestPort: 80 } });
    expect(added.running).toBe(true);
    expect(added.forwards).toEqual([{ nicId, forward: { protocol: 'tcp', hostAddress: '127.0.0.1', hostPort: port, guestPort: 80 }, active: true }]);
    // QEMU really listens on the host port now.
    expect(await portTaken(port)).toBe(true);

    const removed = await client.api.networks.removePortForward({ vmId: def.id, nicId, protocol: 'tcp', hostPort: port });
    expect(removed).toMatchObject({ running: true, forwards: [] });
    const listed = await client.api.networks.portForwards({ vmId: def.id });
    expect(listed.forwards).toEqual([]);
    expect(await portTaken(port)).toBe(false);
  });
});
