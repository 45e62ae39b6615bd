// User-mode NAT (slirp): the NIC settings from the model reach the guest, and port forwards
// are added and removed on a running VM through QMP `human-monitor-command`. Everything runs
// unprivileged-style in this process's own namespace, on loopback only.
import { createServer, connect, type Server } from 'node:net';
import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { EngineError } from '../../engine/api/errors';
import { nicSchema, type Nic } from '../../engine/model/nic';
import { nicNetdev } from '../../engine/qemu/argv/nics';
import { QmpClient } from '../../engine/qemu/qmp';
import { prepareNicBackends } from '../../engine/network/nic-backends';
import { addActiveForward, listActiveForwards, removeActiveForward } from '../../engine/network/port-forwards';
import { parsePortForward } from '../../engine/model/net/port-forward-spec';
import { HTTP_BODY_TEXT } from '../guest/guest';
import { guestArgv, Resources, withQmp } from './network-harness';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function httpGet(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', timeout: 20_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c));
      res.on('end', () => resolve(body));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/** Whether anything accepts TCP connections on 127.0.0.1:port. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('user-mode NAT and port forwards', () => {
  const res = new Resources();
  afterEach(async () => {
    await res.cleanup();
  });

  it('applies the subnet/DHCP settings and forwards from the definition, and adds and removes forwards live', { timeout: 300_000 }, async () => {
    const dir = await res.tempDir('vd-net-user-');
    const bootPort = await freePort();
    const nic: Nic = nicSchema.parse({
      id: 'net0',
      mac: '52:54:00:0c:00:01',
      network: { kind: 'user', subnet: '10.0.9.0/24', hostAddress: '10.0.9.2', dns: '10.0.9.3', dhcpStart: '10.0.9.50', portForwards: [parsePortForward(`tcp:${bootPort}:80`)] },
    });
    // The start path checks forwarded host ports before QEMU runs.
    expect(await prepareNicBackends({ id: 'vm-user', nics: [nic] }, { home: dir })).toEqual({});

    const qmpSocket = `${dir}/qmp.sock`;
    const guest = res.guest('user-guest', withQmp(await guestArgv([{ netdev: nicNetdev(nic), mac: nic.mac }]), qmpSocket));
    expect(await guest.ready(180_000)).toEqual(['10.0.9.50']);
    expect((await guest.sh('ip route')).output).toContain('default via 10.0.9.2');
    expect(await httpGet(bootPort)).toContain(HTTP_BODY_TEXT);

    const qmp = await QmpClient.connect(qmpSocket, { timeoutMs: 30_000, waitForSocket: true });
    res.add(() => qmp.close());

    // Add a forward while the VM runs; it answers at once.
    const livePort = await freePort();
    await addActiveForward(qmp, 'net0', parsePortForward(`tcp:${livePort}:80`));
    expect(await httpGet(livePort)).toContain(HTTP_BODY_TEXT);
    await addActiveForward(qmp, 'net0', parsePortForward(`udp:${livePort}:5353`));
    const active = await listActiveForwards(qmp);
    expect(active).toEqual(
      expect.arrayContaining([
        { netdev: 'net0-backend', protocol: 'tcp', hostAddress: '127.0.0.1', hostPort: bootPort, guestAddress: '10.0.9.50', guestPort: 80 },
        { netdev: 'net0-backend', protocol: 'tcp', hostAddress: '127.0.0.1', hostPort: livePort, guestAddress: '10.0.9.50', guestPort: 80 },
        { netdev: 'net0-backend', protocol: 'udp', hostAddress: '127.0.0.1', hostPort: livePort, guestAddress: '10.0.9.50', guestPort: 5353 },
      ]),
    );

    // A host port someone else holds is refused, naming the holder (this test process).
    const squatter: Server = createServer();
    await new Promise<void>((resolve) => squatter.listen({ host: '127.0.0.1', port: 0 }, resolve));
    res.add(() => new Promise((resolve) => squatter.close(resolve)));
    const taken = (squatter.address() as { port: number }).port;
    const refused = await addActiveForward(qmp, 'net0', parsePortForward(`tcp:${taken}:80`)).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(EngineError);
    expect((refused as EngineError).code).toBe('conflict');
    expect((refused as EngineError).message).toContain(`(pid ${process.pid})`);
    // The same port QEMU already holds for this VM is refused too, naming QEMU.
    const again = await addActiveForward(qmp, 'net0', parsePortForward(`tcp:${livePort}:22`)).catch((e: unknown) => e);
    expect((again as EngineError).message).toMatch(/already in use by qemu-system-x86 \(pid \d+\)/);
    await expect(prepareNicBackends({ id: 'vm-2', nics: [nic] }, { home: dir })).rejects.toThrow(new RegExp(`TCP port ${bootPort} on 127.0.0.1 is already in use by qemu`));

    // Removing it while the VM runs closes the port.
    expect(await removeActiveForward(qmp, 'net0', parsePortForward(`tcp:${livePort}:80`))).toEqual({ removed: true });
    expect(await accepts(livePort)).toBe(false);
    expect(await removeActiveForward(qmp, 'net0', parsePortForward(`tcp:${livePort}:80`))).toEqual({ removed: false });
    expect(await removeActiveForward(qmp, 'net0', parsePortForward(`udp:${livePort}:5353`))).toEqual({ removed: true });
    expect((await listActiveForwards(qmp)).map((f) => `${f.protocol}:${f.hostPort}`)).toEqual([`tcp:${bootPort}`]);
    expect(await httpGet(bootPort)).toContain(HTTP_BODY_TEXT);

    // A NIC id with no user netdev is QEMU's error, reported as such.
    await expect(addActiveForward(qmp, 'nope', parsePortForward(`tcp:${await freePort()}:80`))).rejects.toThrow(/unrecognized netdev id 'nope-backend'/);
  });
});
