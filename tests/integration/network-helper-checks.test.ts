// Issue 18 items 6 and 7, as root, inside a network namespace this test makes: the root
// helper's own address checks (against every routing table) and its ownership checks. The
// in-process helper path acts for a chosen caller uid, as the pkexec'd helper does for
// PKEXEC_UID; the last test runs the real helper entry with PKEXEC_UID set.
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EngineError } from '../../engine/api/errors';
import { netnsRunner } from '../../engine/network/command-runner';
import { buildNetworkDefinition } from '../../engine/network/network-definition';
import { NetworkManager } from '../../engine/network/network-manager';
import { findDnsmasqPids } from '../../engine/network/privileged/dnsmasq-process';
import type { PrivilegedOperation } from '../../engine/network/privileged/operations';
import { runPrivileged } from '../../engine/network/privileged/run-privileged';
import { networkStatePaths } from '../../engine/network/privileged/state-paths';
import { isRoot, must, Resources, run, suffix } from './network-harness';

const ALICE = 1000;
const MALLORY = 2000;

interface World {
  ns: string;
  home: string;
  stateRoot: string;
  as(uid: number): <O extends PrivilegedOperation>(op: O) => ReturnType<typeof runPrivileged<O>>;
}

async function refusal(promise: Promise<unknown>): Promise<EngineError> {
  const error = await promise.then(
    (value) => {
      throw new Error(`accepted, answered ${JSON.stringify(value)}`);
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(EngineError);
  return error as EngineError;
}

async function alias(ns: string, dev: string): Promise<string | undefined> {
  const out = await run('ip', ['-n', ns, '-j', 'link', 'show', 'dev', dev]);
  return out.code === 0 ? (JSON.parse(out.stdout) as { ifalias?: string }[])[0]?.ifalias : undefined;
}

async function linkExists(ns: string, dev: string): Promise<boolean> {
  return (await run('ip', ['-n', ns, 'link', 'show', 'dev', dev])).code === 0;
}

describe.skipIf(!isRoot)('the root helper checks addresses and owners itself (root, in a namespace)', () => {
  const res = new Resources();
  afterEach(async () => {
    await res.cleanup();
  });

  async function makeWorld(): Promise<World> {
    const ns = await res.namespace(`vdown-${suffix()}`);
    await must('ip', ['-n', ns, 'link', 'add', 'up0', 'type', 'veth', 'peer', 'name', 'up0p']);
    await must('ip', ['-n', ns, 'link', 'set', 'up0p', 'up']);
    await must('ip', ['-n', ns, 'addr', 'add', '10.250.0.2/24', 'dev', 'up0']);
    await must('ip', ['-n', ns, 'link', 'set', 'up0', 'up']);
    // Policy routing: a VPN-style route only in table 100, and a blackhole in table 200.
    await must('ip', ['-n', ns, 'route', 'add', '10.77.0.0/16', 'via', '10.250.0.1', 'table', '100']);
    await must('ip', ['-n', ns, 'route', 'add', 'blackhole', '10.99.0.0/16', 'table', '200']);
    const home = await res.tempDir('vd-net-own-');
    const stateRoot = `${home}/state`;
    const runner = netnsRunner(ns);
    return { ns, home, stateRoot, as: (uid) => (op) => runPrivileged(op, { runner, stateRoot, caller: uid }) };
  }

  it('refuses subnets that overlap routes of any table, in the engine and in the helper', { timeout: 60_000 }, async () => {
    const world = await makeWorld();
    const manager = new NetworkManager({ home: world.home, runner: netnsRunner(world.ns), stateRoot: world.stateRoot });
    await expect(manager.create({ name: 'vpnclash', ipv4: '10.77.1.1/24' })).rejects.toThrow(/overlaps the host's route to 10\.77\.0\.0\/16 \(on up0, table 100\)/);
    await expect(manager.create({ name: 'bhclash', ipv4: '10.99.1.1/24' })).rejects.toThrow(/10\.99\.0\.0\/16 \(table 200\)/);

    // The helper repeats the check: a caller that skips the engine gets no bridge on the LAN or the VPN.
    const root = world.as(0);
    expect((await refusal(root({ op: 'bridge.create', bridge: 'vdbrv', network: 'x', ipv4: '10.77.1.1/24' }))).message).toMatch(/table 100/);
    expect((await refusal(root({ op: 'bridge.create', bridge: 'vdbrv', network: 'x', ipv4: '10.250.0.9/24' }))).message).toMatch(/10\.250\.0\.0\/24 \(on up0\)/);
    expect((await refusal(root({ op: 'bridge.create', bridge: 'vdbrv', network: 'x', ipv4: '127.0.0.1/8' }))).message).toMatch(/loopback/);
    expect((await refusal(root({ op: 'bridge.create', bridge: 'vdbrv', network: 'x', ipv4: '10.60.0.1/32' }))).message).toMatch(/\/32 prefix/);
    expect(await linkExists(world.ns, 'vdbrv')).toBe(false);
  });

  it('records the caller as owner of bridges, taps, nft tables and dnsmasq, and refuses everyone else', { timeout: 120_000 }, async () => {
    const world = await makeWorld();
    const alice = world.as(ALICE);
    const mallory = world.as(MALLORY);
    const root = world.as(0);
    const net = buildNetworkDefinition({ name: 'alice-net', ipv4: '10.61.0.1/24', bridge: 'vdbra' }, { bridges: [], subnets: [] });
    const cleanup = async () => {
      for (const op of [
        { op: 'dnsmasq.stop', network: 'alice-net', purge: true },
        { op: 'nft.remove', network: 'alice-net' },
        { op: 'tap.remove', tap: 'vdtapa' },
        { op: 'bridge.delete', bridge: 'vdbra' },
      ] as const) await alice(op).catch(() => undefined);
    };
    res.add(cleanup);

    expect(await alice({ op: 'bridge.create', bridge: 'vdbra', network: 'alice-net', ipv4: net.ipv4 })).toEqual({ created: true });
    expect(await alias(world.ns, 'vdbra')).toBe('virtdesk:network:alice-net owner=1000');
    expect(await alice({ op: 'tap.add', tap: 'vdtapa', bridge: 'vdbra', uid: ALICE })).toEqual({ created: true });
    expect(await alias(world.ns, 'vdtapa')).toBe('virtdesk:tap owner=1000');
    await alice({ op: 'nft.apply', network: net });
    expect((await run('ip', ['netns', 'exec', world.ns, 'nft', 'list', 'table', 'ip', 'virtdesk-alice-net'])).stdout).toContain('comment "virtdesk owner=1000"');
    await alice({ op: 'dnsmasq.start', network: net });
    const paths = networkStatePaths(world.stateRoot, 'alice-net');
    expect((await readFile(`${paths.dir}/owner`, 'utf8')).trim()).toBe('1000');
    const dnsmasq = await findDnsmasqPids(paths);
    expect(dnsmasq).toHaveLength(1);

    // Another user (and root, which did not make them) may touch none of it.
    for (const caller of [mallory, root]) {
      const denied = [
        await refusal(caller({ op: 'bridge.delete', bridge: 'vdbra' })),
        await refusal(caller({ op: 'bridge.create', bridge: 'vdbra', network: 'alice-net', ipv4: net.ipv4 })),
        await refusal(caller({ op: 'tap.remove', tap: 'vdtapa' })),
        await refusal(caller({ op: 'tap.add', tap: 'vdtapm', bridge: 'vdbra', uid: MALLORY })),
        await refusal(caller({ op: 'nft.apply', network: net })),
        await refusal(caller({ op: 'nft.remove', network: 'alice-net' })),
        await refusal(caller({ op: 'dnsmasq.start', network: net })),
        await refusal(caller({ op: 'dnsmasq.stop', network: 'alice-net', purge: true })),
      ];
      for (const error of denied) {
        expect(error.code).toBe('permission-denied');
        expect(error.message).toMatch(/belongs to user 1000/);
      }
    }
    expect(await linkExists(world.ns, 'vdbra')).toBe(true);
    expect(await linkExists(world.ns, 'vdtapa')).toBe(true);
    expect(await linkExists(world.ns, 'vdtapm')).toBe(false);
    expect((await run('ip', ['-n', world.ns, '-j', 'link', 'show', 'dev', 'vdtapa'])).stdout).toContain('"master":"vdbra"');
    expect(await findDnsmasqPids(paths)).toEqual(dnsmasq);
    expect((await run('ip', ['netns', 'exec', world.ns, 'nft', 'list', 'table', 'ip', 'virtdesk-alice-net'])).code).toBe(0);

    // A network spec naming someone else's interface gets neither DHCP nor firewall rules on it.
    const onUplink = { ...net, name: 'evil', bridge: 'up0' };
    expect((await refusal(mallory({ op: 'dnsmasq.start', network: onUplink }))).message).toMatch(/Bridge up0 of network evil does not exist/);
    expect((await refusal(mallory({ op: 'nft.apply', network: { ...onUplink, bridge: 'vdbra' } }))).message).toMatch(/belongs to user 1000/);

    // The owner tears it all down.
    await cleanup();
    expect(await linkExists(world.ns, 'vdbra')).toBe(false);
    expect(await linkExists(world.ns, 'vdtapa')).toBe(false);
    expect(await findDnsmasqPids(paths)).toEqual([]);
  });

  it('refuses root-owned taps and bridges (made outside the helper, or tagged without an owner)', { timeout: 60_000 }, async () => {
    const world = await makeWorld();
    const alice = world.as(ALICE);
    res.add(() => alice({ op: 'bridge.delete', bridge: 'vdbrb' }).catch(() => undefined));
    await alice({ op: 'bridge.create', bridge: 'vdbrb', network: 'b', ipv4: '10.62.0.1/24' });
    // The audit's case: an existing root tap, on another bridge, moved by a PKEXEC_UID=1000 tap.add.
    await must('ip', ['-n', world.ns, 'link', 'add', 'rootbr', 'type', 'bridge']);
    await must('ip', ['-n', world.ns, 'tuntap', 'add', 'dev', 'vdtapr', 'mode', 'tap']);
    await must('ip', ['-n', world.ns, 'link', 'set', 'dev', 'vdtapr', 'alias', 'virtdesk:tap', 'master', 'rootbr']);
    await must('ip', ['-n', world.ns, 'tuntap', 'add', 'dev', 'plain0', 'mode', 'tap']);
    const moved = await refusal(alice({ op: 'tap.add', tap: 'vdtapr', bridge: 'vdbrb', uid: ALICE }));
    expect(moved.message).toMatch(/Interface vdtapr belongs to root, not to the calling user 1000/);
    expect((await run('ip', ['-n', world.ns, '-j', 'link', 'show', 'dev', 'vdtapr'])).stdout).toContain('"master":"rootbr"');
    expect((await refusal(alice({ op: 'tap.remove', tap: 'vdtapr' }))).code).toBe('permission-denied');
    expect((await refusal(alice({ op: 'tap.add', tap: 'plain0', bridge: 'vdbrb', uid: ALICE }))).message).toMatch(/not created by Virtdesk/);
    expect((await refusal(alice({ op: 'bridge.delete', bridge: 'rootbr' }))).message).toMatch(/not created by Virtdesk/);
    // Root may remove what is root's.
    expect(await world.as(0)({ op: 'tap.remove', tap: 'vdtapr' })).toEqual({ removed: true });
  });

  it('the installed helper entry takes the caller from PKEXEC_UID', { timeout: 60_000 }, async () => {
    const world = await makeWorld();
    const alice = world.as(ALICE);
    res.add(() => alice({ op: 'bridge.delete', bridge: 'vdbrc' }).catch(() => undefined));
    await alice({ op: 'bridge.create', bridge: 'vdbrc', network: 'c', ipv4: '10.63.0.1/24' });
    const repo = resolve(__dirname, '../..');
    const helper = (uid: string, op: object) =>
      new Promise<{ ok: boolean; error?: { code: string; message: string }; result?: unknown }>((done, fail) => {
        const child = spawn('ip', ['netns', 'exec', world.ns, `${repo}/node_modules/.bin/tsx`, `${repo}/engine/network/privileged/helper-main.ts`, JSON.stringify(op)], {
          env: { PATH: process.env.PATH, PKEXEC_UID: uid },
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        let out = '';
        child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
        child.on('error', fail);
        child.on('close', () => done(JSON.parse(out.trim().split('\n').pop() ?? '{}')));
      });
    const denied = await helper(String(MALLORY), { op: 'bridge.delete', bridge: 'vdbrc' });
    expect(denied).toMatchObject({ ok: false, error: { code: 'permission-denied' } });
    expect(denied.error?.message).toMatch(/belongs to user 1000, not to the calling user 2000/);
    expect(await linkExists(world.ns, 'vdbrc')).toBe(true);
    expect(await helper('x1000', { op: 'bridge.delete', bridge: 'vdbrc' })).toMatchObject({ ok: false, error: { message: expect.stringMatching(/PKEXEC_UID "x1000" is not a user id/) } });
    expect(await helper(String(ALICE), { op: 'bridge.delete', bridge: 'vdbrc' })).toEqual({ ok: true, result: { deleted: true } });
  });
});
