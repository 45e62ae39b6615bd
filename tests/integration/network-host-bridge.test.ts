// Host bridges, as root, inside namespaces: a veth stands in for the host's Ethernet card.
// The bridge takes over its address and default route; a guest joins it through
// qemu-bridge-helper and sits directly on the "LAN" (no NAT); deleting the bridge gives the
// interface its addressing back. bridge.conf is bind-mounted inside QEMU's private mount
// namespace, so the host's /etc/qemu is never written (only created empty if missing).
import { mkdir, rmdir, writeFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { nicSchema } from '../../engine/model/nic';
import { nicNetdev } from '../../engine/qemu/argv/nics';
import { netnsRunner } from '../../engine/network/command-runner';
import { createHostBridge, deleteHostBridge, listHostBridges } from '../../engine/network/host-bridges';
import { prepareNicBackends } from '../../engine/network/nic-backends';
import { runPrivileged } from '../../engine/network/privileged/run-privileged';
import type { PrivilegedCall } from '../../engine/network/network-manager';
import { guestArgv, isRoot, Resources, run, suffix } from './network-harness';

const LAN_SERVER = '10.240.0.1';

describe.skipIf(!isRoot)('host bridges (root, in namespaces)', () => {
  const res = new Resources();
  afterEach(async () => {
    await res.cleanup();
  });

  it('moves the host connection onto a new bridge, puts a guest on the LAN through qemu-bridge-helper, and gives it back', { timeout: 300_000 }, async () => {
    const id = suffix();
    const hostNs = await res.namespace(`vdbr-h-${id}`);
    const lanNs = await res.namespace(`vdbr-l-${id}`);
    await res.veth({ ns: hostNs, dev: 'eth1', cidr: '10.240.0.2/24' }, { ns: lanNs, dev: 'eth0', cidr: `${LAN_SERVER}/24` });
    await run('ip', ['-n', hostNs, 'route', 'add', 'default', 'via', LAN_SERVER]);
    const token = `lan-${suffix()}`;
    await res.httpServer(lanNs, LAN_SERVER, 80, `${token}\n`);

    const runner = netnsRunner(hostNs);
    const home = await res.tempDir('vd-net-hb-');
    const privileged: PrivilegedCall = (op) => runPrivileged(op, { runner, stateRoot: `${home}/state` });
    const macBefore = JSON.parse((await run('ip', ['-n', hostNs, '-j', 'link', 'show', 'dev', 'eth1'])).stdout)[0].address as string;

    // Only interfaces that can be: not a missing one, not loopback.
    await expect(createHostBridge('br0', 'eth9', privileged)).rejects.toThrow(/Interface eth9 does not exist/);
    await expect(createHostBridge('br0', 'lo', privileged)).rejects.toThrow(/cannot be put into a host bridge/);

    const created = await createHostBridge('br0', 'eth1', privileged);
    res.add(() => deleteHostBridge('br0', privileged));
    expect(created.warning).toContain('moves this host\'s own network connection from eth1 to br0');
    expect(created.movedAddresses).toEqual(['10.240.0.2/24']);
    expect(created.movedRoutes).toEqual(['default']);
    const br = JSON.parse((await run('ip', ['-n', hostNs, '-j', 'addr', 'show', 'dev', 'br0'])).stdout)[0];
    expect(br.address).toBe(macBefore);
    expect(br.addr_info.map((a: { local: string }) => a.local)).toContain('10.240.0.2');
    expect((await run('ip', ['-n', hostNs, 'route', 'show', 'default'])).stdout).toContain('dev br0');
    expect((await run('ip', ['netns', 'exec', hostNs, 'busybox', 'ping', '-c', '1', '-W', '3', LAN_SERVER])).code).toBe(0);
    expect(await listHostBridges(runner)).toEqual([{ name: 'br0', ports: ['eth1'], createdBy: { virtdesk: true, interface: 'eth1' }, addresses: ['10.240.0.2/24'] }]);
    await expect(createHostBridge('br0', 'eth1', privileged)).rejects.toThrow(/already part of br0/);

    // bridge.conf: refused first with the line to add, then allowed.
    const confDir = await res.tempDir('vd-net-qemu-conf-');
    await writeFile(`${confDir}/bridge.conf`, 'allow virbr0\n');
    const nic = nicSchema.parse({ id: 'net0', mac: '52:54:00:0e:00:01', network: { kind: 'bridge', name: 'br0' } });
    const deps = { home, runner, bridgeAccess: { confPath: `${confDir}/bridge.conf` } };
    await expect(prepareNicBackends({ id: 'vm-hb', nics: [nic] }, deps)).rejects.toThrow(/does not allow bridge br0/);
    await writeFile(`${confDir}/bridge.conf`, '# test\ninclude /nonexistent.conf\nallow br0\n');
    const backends = await prepareNicBackends({ id: 'vm-hb', nics: [nic] }, deps);
    expect(backends.net0).toEqual({ type: 'bridge', bridge: 'br0', helper: '/usr/lib/qemu/qemu-bridge-helper' });

    let madeEtcQemu = false;
    await mkdir('/etc/qemu').then(() => (madeEtcQemu = true), () => undefined);
    res.add(async () => {
      if (madeEtcQemu) await rmdir('/etc/qemu').catch(() => undefined);
    });
    const prefix = ['sh', '-c', `mount --bind ${confDir} /etc/qemu && exec "$@"`, 'sh'];
    const guest = res.guest('bridged', await guestArgv([{ netdev: nicNetdev(nic, backends.net0), mac: nic.mac }]), hostNs, prefix);
    expect(await guest.ready(180_000)).toEqual([]); // no DHCP server on this LAN
    const ports = (await listHostBridges(runner))[0]!.ports;
    expect(ports).toHaveLength(2); // eth1 and the helper's tap
    await guest.sh('ip addr add 10.240.0.50/24 dev eth0');
    const fetched = await guest.sh(`timeout 20 wget -q -O - http://${LAN_SERVER}/`);
    expect(fetched.output).toContain(token);
    // Bridged, not routed: the LAN knows the guest by its own address and MAC.
    expect((await run('ip', ['-n', lanNs, 'neigh', 'show', '10.240.0.50'])).stdout).toContain('52:54:00:0e:00:01');
    await guest.kill();
    expect((await listHostBridges(runner))[0]!.ports).toEqual(['eth1']); // the helper's tap went with QEMU

    expect(await deleteHostBridge('br0', privileged)).toEqual({ deleted: true, restoredTo: 'eth1' });
    expect(await listHostBridges(runner)).toEqual([]);
    const eth1 = JSON.parse((await run('ip', ['-n', hostNs, '-j', 'addr', 'show', 'dev', 'eth1'])).stdout)[0];
    expect(eth1.addr_info.map((a: { local: string }) => a.local)).toContain('10.240.0.2');
    expect((await run('ip', ['-n', hostNs, 'route', 'show', 'default'])).stdout).toContain('dev eth1');
    expect((await run('ip', ['netns', 'exec', hostNs, 'busybox', 'ping', '-c', '1', '-W', '3', LAN_SERVER])).code).toBe(0);
    expect(await deleteHostBridge('br0', privileged)).toEqual({ deleted: false, restoredTo: undefined });
  });

  it('never deletes a bridge it did not create', async () => {
    const hostNs = await res.namespace(`vdbr-x-${suffix()}`);
    await run('ip', ['-n', hostNs, 'link', 'add', 'br5', 'type', 'bridge']);
    const runner = netnsRunner(hostNs);
    const home = await res.tempDir('vd-net-hb-');
    const privileged: PrivilegedCall = (op) => runPrivileged(op, { runner, stateRoot: `${home}/state` });
    await expect(deleteHostBridge('br5', privileged)).rejects.toThrow(/was not created by Virtdesk/);
    await expect(privileged({ op: 'bridge.delete', bridge: 'br5' })).rejects.toThrow(/was not created by Virtdesk/);
    expect(await listHostBridges(runner)).toEqual([{ name: 'br5', ports: [], createdBy: { virtdesk: false }, addresses: [] }]);
  });
});
