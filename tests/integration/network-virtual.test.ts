// Virtual networks (NAT, isolated) end to end, as root, inside network namespaces this test
// creates: the engine's bridge, dnsmasq and nft table live in a "host" namespace, QEMU runs
// there too, and an "uplink" namespace behind a veth plays the outside world with an HTTP
// server. Traffic only ever goes to addresses inside these namespaces.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { nicSchema } from '../../engine/model/nic';
import { nicNetdev } from '../../engine/qemu/argv/nics';
import { netnsRunner } from '../../engine/network/command-runner';
import { prepareNicBackends, releaseNicBackends } from '../../engine/network/nic-backends';
import { NetworkManager } from '../../engine/network/network-manager';
import { nftTableName } from '../../engine/network/privileged/nft-ruleset';
import { networkStatePaths } from '../../engine/network/privileged/state-paths';
import { guestArgv, isRoot, leftovers, netnsLeftovers, Resources, run, suffix, type Guest } from './network-harness';

const UPLINK_ADDRESS = '10.250.0.1';
const HOST_UPLINK_CIDR = '10.250.0.2/24';

interface World {
  res: Resources;
  hostNs: string;
  uplinkNs: string;
  manager: NetworkManager;
  stateRoot: string;
  token: string;
}

async function makeWorld(): Promise<World> {
  const res = new Resources();
  const id = suffix();
  const hostNs = await res.namespace(`vdnet-h-${id}`);
  const uplinkNs = await res.namespace(`vdnet-u-${id}`);
  await res.veth({ ns: hostNs, dev: 'up0', cidr: HOST_UPLINK_CIDR }, { ns: uplinkNs, dev: 'eth0', cidr: `${UPLINK_ADDRESS}/24` });
  await run('ip', ['-n', hostNs, 'route', 'add', 'default', 'via', UPLINK_ADDRESS]);
  const home = await res.tempDir('vd-net-home-');
  const stateRoot = `${home}/run/networks`;
  const token = `uplink-${suffix()}`;
  await res.httpServer(uplinkNs, UPLINK_ADDRESS, 80, `<p>${token}</p>\n`);
  // Counts HTTP SYNs reaching the uplink: from the host's NAT address, and from anything else.
  await nftIn(uplinkNs, `table ip vdtest {
    chain input {
      type filter hook input priority 0; policy accept;
      tcp dport 80 tcp flags syn ip saddr ${HOST_UPLINK_CIDR.split('/')[0]} counter comment "nat"
      tcp dport 80 tcp flags syn ip saddr != ${HOST_UPLINK_CIDR.split('/')[0]} counter comment "other"
    }
  }`);
  const manager = new NetworkManager({ home, runner: netnsRunner(hostNs), stateRoot });
  // Runs after the guests are killed and before the namespaces go: a failed test leaves no dnsmasq.
  res.add(async () => {
    for (const status of (await manager.list()).items) await manager.delete(status.definition.id, { force: true });
  });
  return { res, hostNs, uplinkNs, manager, stateRoot, token };
}

async function nftIn(ns: string, script: string): Promise<void> {
  const { spawnSync } = await import('node:child_process');
  const result = spawnSync('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], { input: script, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`nft in ${ns}: ${result.stderr}`);
}

/** SYNs to the uplink's HTTP server, by source: the host's NAT address or anything else. */
async function uplinkHits(ns: string): Promise<{ nat: number; other: number }> {
  const json = JSON.parse((await run('ip', ['netns', 'exec', ns, 'nft', '-j', 'list', 'table', 'ip', 'vdtest'])).stdout) as {
    nftables: { rule?: { comment?: string; expr: { counter?: { packets: number } }[] } }[];
  };
  const hits = { nat: 0, other: 0 };
  for (const item of json.nftables) {
    const packets = item.rule?.expr.find((e) => e.counter)?.counter?.packets ?? 0;
    if (item.rule?.comment === 'nat') hits.nat = packets;
    if (item.rule?.comment === 'other') hits.other = packets;
  }
  return hits;
}

/**
 * Boots a test guest on a virtual network the way a VM start does: the NIC from the model,
 * its tap from prepareNicBackends, its -netdev from engine/qemu/argv; QEMU runs in the namespace.
 */
async function bootOn(world: World, network: string, vmId: string, mac: string): Promise<Guest> {
  const nic = nicSchema.parse({ id: 'net0', mac, network: { kind: 'network', name: network } });
  const vm = { id: vmId, nics: [nic] };
  const deps = { home: world.stateRoot, networks: world.manager };
  const backends = await prepareNicBackends(vm, deps);
  expect(backends.net0).toMatchObject({ type: 'tap', ifname: expect.stringMatching(/^vdtap[0-9a-f]{10}$/) });
  world.res.add(() => releaseNicBackends(vm, deps));
  return world.res.guest(`${network}-${vmId}`, await guestArgv([{ netdev: nicNetdev(nic, backends.net0), mac }]), world.hostNs);
}

async function tablesIn(ns: string): Promise<string> {
  return (await run('ip', ['netns', 'exec', ns, 'nft', 'list', 'tables'])).stdout;
}

describe.skipIf(!isRoot)('virtual networks (root, in namespaces)', () => {
  let world: World;

  beforeEach(async () => {
    world = await makeWorld();
  });

  afterEach(async () => {
    const { res, stateRoot } = world;
    const namespaces = [...res.namespaces];
    await res.cleanup();
    expect(await leftovers({ namespaces, stateRoot })).toEqual([]);
  });

  it('starts, reports and stops a NAT network, leaving nothing behind', async () => {
    const { manager, hostNs, stateRoot } = world;
    await expect(manager.create({ name: 'clash', ipv4: '10.250.0.129/25' })).rejects.toThrow(/overlaps the host's route to 10.250.0.0\/24 \(on up0\)/);
    const def = await manager.create({ name: 'lab', ipv4: '10.251.0.1/24' });
    expect(def).toMatchObject({ bridge: 'vdbr0', mode: 'nat', dhcp: { start: '10.251.0.2', end: '10.251.0.254' } });
    expect((await manager.show('lab')).state).toBe('inactive');

    const status = await manager.start('lab');
    expect(status.state).toBe('active');
    expect(status.problems).toEqual([]);
    expect(status.dnsmasqPid).toBeGreaterThan(0);
    const addr = await run('ip', ['-n', hostNs, '-j', 'addr', 'show', 'dev', 'vdbr0']);
    expect(addr.stdout).toContain('"local":"10.251.0.1"');
    expect(await tablesIn(hostNs)).toContain(`table ip ${nftTableName('lab')}`);
    expect((await run('ip', ['netns', 'exec', hostNs, 'sysctl', '-n', 'net.ipv4.ip_forward'])).stdout.trim()).toBe('1');
    expect(await manager.leases('lab')).toEqual([]);

    // Starting again repairs rather than duplicates: still one dnsmasq, one table.
    await manager.start('lab');
    expect((await leftovers({ namespaces: [], stateRoot })).length).toBe(1);

    await manager.stop('lab');
    expect((await manager.show('lab')).state).toBe('inactive');
    expect(await netnsLeftovers(hostNs)).toEqual([]);
    expect(await leftovers({ namespaces: [], stateRoot })).toEqual([]);

    await manager.start('lab');
    await manager.delete('lab');
    expect(await netnsLeftovers(hostNs)).toEqual([]);
    expect(await leftovers({ namespaces: [], stateRoot })).toEqual([]);
    expect((await manager.list()).items).toEqual([]);
    await expect(run('ls', [networkStatePaths(stateRoot, 'lab').dir])).resolves.toMatchObject({ code: 2 });
  });

  it('shows a killed dnsmasq as degraded and repairs it on start', async () => {
    const { manager } = world;
    await manager.create({ name: 'lab', ipv4: '10.251.0.1/24' });
    const status = await manager.start('lab');
    process.kill(status.dnsmasqPid!, 'SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 200));
    const degraded = await manager.show('lab');
    expect(degraded.state).toBe('degraded');
    expect(degraded.problems).toEqual(['dnsmasq is not running']);
    expect((await manager.start('lab')).state).toBe('active');
    await manager.delete('lab');
  });

  it('refuses to start a network whose bridge name is taken by another interface', async () => {
    const { manager, hostNs } = world;
    // No dummy module on this kernel: a veth pair stands in for someone else's interface.
    await run('ip', ['-n', hostNs, 'link', 'add', 'vdbr5', 'type', 'veth', 'peer', 'name', 'other5']);
    await expect(manager.create({ name: 'lab', ipv4: '10.251.0.1/24', bridge: 'vdbr5' })).rejects.toThrow(/Interface vdbr5 already exists on the host/);
    // A definition made before the interface appeared: start refuses and cleans up after itself.
    await manager.create({ name: 'lab2', ipv4: '10.252.0.1/24', bridge: 'vdbr6' });
    await run('ip', ['-n', hostNs, 'link', 'add', 'vdbr6', 'type', 'veth', 'peer', 'name', 'other6']);
    await expect(manager.start('lab2')).rejects.toThrow(/vdbr6 already exists and is not a Virtdesk network bridge/);
    expect(await tablesIn(hostNs)).not.toContain('virtdesk');
    await run('ip', ['-n', hostNs, 'link', 'del', 'vdbr5']);
    await run('ip', ['-n', hostNs, 'link', 'del', 'vdbr6']);
  });

  it('gives two NAT guests DHCP leases, lets them reach each other and the uplink through NAT', { timeout: 400_000 }, async () => {
    const { manager, hostNs, token } = world;
    await manager.create({ name: 'natnet', ipv4: '10.251.0.1/24' });
    await manager.start('natnet');
    const macs = ['52:54:00:0a:00:01', '52:54:00:0a:00:02'];
    const guests: Guest[] = [];
    for (const [i, mac] of macs.entries()) {
      guests.push(await bootOn(world, 'natnet', `vm-${i}`, mac));
    }
    expect((await manager.show('natnet')).attachedTaps).toHaveLength(2);
    await expect(manager.stop('natnet')).rejects.toThrow(/in use by 2 running VM NICs/);

    const ips = await Promise.all(guests.map((g) => g.ready(240_000)));
    ips.forEach((list, i) => expect(list, guests[i]!.describe()).toHaveLength(1));
    const [ipA, ipB] = [ips[0]![0]!, ips[1]![0]!];
    expect(ipA).toMatch(/^10\.251\.0\./);

    const leases = await manager.leases('natnet');
    expect(leases.map((l) => [l.mac, l.ip]).sort()).toEqual([[macs[0], ipA], [macs[1], ipB]].sort());
    expect((await manager.addressOf(macs[1]!.toUpperCase()))?.ip).toBe(ipB);

    const [a, b] = [guests[0]!, guests[1]!];
    expect((await a.sh(`ping -c 2 -W 5 ${ipB}`)).code).toBe(0);
    expect((await b.sh(`ping -c 2 -W 5 ${ipA}`)).code).toBe(0);
    // The uplink has no route to 10.251.0.0/24: only NAT makes this answer come back.
    const fetched = await a.sh(`timeout 20 wget -q -O - http://${UPLINK_ADDRESS}/`);
    expect(fetched.output).toContain(token);
    expect(fetched.code).toBe(0);
    // The uplink saw the connection from the host's address, never from a guest's.
    expect(await uplinkHits(world.uplinkNs)).toEqual({ nat: 1, other: 0 });

    for (const g of guests) await g.kill();
    for (const i of [0, 1]) await manager.releaseTap({ vmId: `vm-${i}`, nicId: 'net0' });
    expect((await manager.show('natnet')).attachedTaps).toEqual([]);
    await manager.delete('natnet');
    expect(await netnsLeftovers(hostNs)).toEqual([]);
  });

  it('lets isolated guests reach each other but not the uplink', { timeout: 400_000 }, async () => {
    const { manager, hostNs } = world;
    await manager.create({ name: 'iso', mode: 'isolated', ipv4: '10.253.0.1/24' });
    await manager.start('iso');
    const guests: Guest[] = [];
    for (const i of [0, 1]) {
      guests.push(await bootOn(world, 'iso', `vm-${i}`, `52:54:00:0b:00:0${i + 1}`));
    }
    const ips = await Promise.all(guests.map((g) => g.ready(240_000)));
    const [a, b] = [guests[0]!, guests[1]!];
    const ipB = ips[1]![0]!;
    expect(ipB).toMatch(/^10\.253\.0\./);
    expect((await a.sh(`ping -c 2 -W 5 ${ipB}`)).code).toBe(0);
    expect((await b.sh(`ping -c 2 -W 5 ${ips[0]![0]!}`)).code).toBe(0);
    expect((await a.sh('ping -c 1 -W 2 10.253.0.1')).code).toBe(0);
    // No router was offered; even with one added by hand, the host refuses to forward.
    expect((await a.sh('ip route')).output).not.toContain('default');
    await a.sh('ip route add default via 10.253.0.1');
    const blocked = await a.sh(`timeout 10 wget -q -O - http://${UPLINK_ADDRESS}/`);
    expect(blocked.code).not.toBe(0);
    expect(blocked.output).not.toContain('uplink-');
    expect(await uplinkHits(world.uplinkNs)).toEqual({ nat: 0, other: 0 });

    for (const g of guests) await g.kill();
    for (const i of [0, 1]) await manager.releaseTap({ vmId: `vm-${i}`, nicId: 'net0' });
    await manager.delete('iso');
    expect(await netnsLeftovers(hostNs)).toEqual([]);
  });
});
