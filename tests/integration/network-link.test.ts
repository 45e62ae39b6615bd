// Private VM-to-VM links: two guests joined by QEMU 7.2 `-netdev dgram` over unix sockets in
// the runtime folder. No privileges, no namespaces, no host interfaces: the only traffic is
// between the two QEMU processes.
import { stat } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { EngineError } from '../../engine/api/errors';
import { nicSchema, type Nic } from '../../engine/model/nic';
import { nicNetdev } from '../../engine/qemu/argv/nics';
import { linkEndpointPaths } from '../../engine/network/link-endpoints';
import { prepareNicBackends, releaseNicBackends } from '../../engine/network/nic-backends';
import { guestArgv, Resources, type Guest } from './network-harness';

describe('private links', () => {
  const res = new Resources();
  afterEach(async () => {
    await res.cleanup();
  });

  it('joins two guests that reach each other, in either start order, and refuses a third on a taken end', { timeout: 400_000 }, async () => {
    const home = await res.tempDir('vd-net-link-');
    // Short runtime folder: unix socket paths must stay under 108 bytes.
    const env = { ...process.env, VIRTDESK_RUNTIME_DIR: `${home}/r` };
    const nics: Nic[] = (['a', 'b'] as const).map((role, i) =>
      nicSchema.parse({ id: 'net0', mac: `52:54:00:0d:00:0${i + 1}`, network: { kind: 'link', name: 'lab', role } }),
    );
    const vms = nics.map((nic, i) => ({ id: `vm-${i}`, nics: [nic] }));

    const boot = async (i: number): Promise<Guest> => {
      const vm = vms[i]!;
      const backends = await prepareNicBackends(vm, { home, env });
      expect(backends.net0).toEqual({ type: 'dgram-unix', ...linkEndpointPaths(home, 'lab', i === 0 ? 'a' : 'b', env) });
      const guest = res.guest(`link${i}-${Date.now()}`, await guestArgv([{ netdev: nicNetdev(vm.nics[0]!, backends.net0), mac: vm.nics[0]!.mac }]));
      res.add(() => releaseNicBackends(vm, { home, env }));
      expect(await guest.ready(180_000)).toEqual([]); // no DHCP on a bare link
      await guest.sh(`ip addr add 10.77.0.${i + 1}/24 dev eth0`);
      return guest;
    };

    const [a, b] = await Promise.all([boot(0), boot(1)]);
    expect((await a.sh('ping -c 2 -W 5 10.77.0.2')).code).toBe(0);
    expect((await b.sh('ping -c 2 -W 5 10.77.0.1')).code).toBe(0);

    // A third VM configured as end "a" while the first runs: refused, naming QEMU.
    const third = await prepareNicBackends({ id: 'vm-3', nics: [nics[0]!] }, { home, env }).catch((e: unknown) => e);
    expect(third).toBeInstanceOf(EngineError);
    expect((third as EngineError).code).toBe('conflict');
    expect((third as EngineError).message).toMatch(/End a of link lab is already in use by qemu-system-x86 \(pid \d+\)/);

    // Either end can restart alone; the cable works again without touching the other.
    await b.kill();
    await releaseNicBackends(vms[1]!, { home, env });
    await expect(stat(linkEndpointPaths(home, 'lab', 'b', env).localPath)).rejects.toThrow(/ENOENT/);
    expect((await a.sh('ping -c 1 -W 2 10.77.0.2')).code).not.toBe(0);
    const b2 = await boot(1);
    expect((await b2.sh('ping -c 2 -W 5 10.77.0.1')).code).toBe(0);

    await a.kill();
    await b2.kill();
    for (const vm of vms) await releaseNicBackends(vm, { home, env });
    await expect(stat(linkEndpointPaths(home, 'lab', 'a', env).localPath)).rejects.toThrow(/ENOENT/);
  });
});
