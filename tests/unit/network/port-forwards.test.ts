import { afterEach, describe, expect, it } from 'vitest';
import { addActiveForward, assertNoForwardClash, listActiveForwards, removeActiveForward } from '../../../engine/network/port-forwards';
import { parseUsernetForwards, type QmpClient } from '../../../engine/qemu/qmp';
import { fakeQemuClient } from '../qmp/fake-qmp-server';
import { parsePortForward } from '../../../engine/model/net/port-forward-spec';

// Recorded from QEMU 7.2.22 (`human-monitor-command` replies).
const INFO_USERNET =
  'Hub -1 (net0-backend):\r\n  Protocol[State]    FD  Source Address  Port   Dest. Address  Port RecvQ SendQ\r\n' +
  '  TCP[HOST_FORWARD]  14       127.0.0.1 18084       10.0.2.15    80     0     0\r\n' +
  '  TCP[ESTABLISHED]   19       10.0.2.15 41234  93.184.216.34   443     0     0\r\n' +
  '  UDP[HOST_FORWARD]  13       127.0.0.1 18082       10.0.2.15    53     0     0\r\n' +
  'Hub -1 (net1-backend):\r\n  Protocol[State]    FD  Source Address  Port   Dest. Address  Port RecvQ SendQ\r\n' +
  '  TCP[HOST_FORWARD]   8         0.0.0.0  2222       10.0.3.15    22     0     0\r\n';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A real QmpClient against a fake QEMU whose HMP answers `replies` (by command line), '' otherwise. */
async function monitor(replies: Record<string, string>): Promise<QmpClient & { calls: string[] }> {
  const calls: string[] = [];
  const { client, stop } = await fakeQemuClient((command, peer) => {
    const line = String((command['arguments'] as Record<string, unknown> | undefined)?.['command-line']);
    if (command['execute'] === 'human-monitor-command') calls.push(line);
    peer.reply(command['id'], replies[line] ?? '');
  });
  cleanups.push(stop);
  return Object.assign(client, { calls });
}

describe('slirp forwards over HMP', () => {
  it('parses info usernet per netdev, forwards only', async () => {
    const m = await monitor({ 'info usernet': INFO_USERNET });
    expect(await listActiveForwards(m)).toEqual(parseUsernetForwards(INFO_USERNET));
    expect(m.calls).toEqual(['info usernet']);
    expect(parseUsernetForwards(INFO_USERNET)).toEqual([
      { netdev: 'net0-backend', protocol: 'tcp', hostAddress: '127.0.0.1', hostPort: 18084, guestAddress: '10.0.2.15', guestPort: 80 },
      { netdev: 'net0-backend', protocol: 'udp', hostAddress: '127.0.0.1', hostPort: 18082, guestAddress: '10.0.2.15', guestPort: 53 },
      { netdev: 'net1-backend', protocol: 'tcp', hostAddress: '0.0.0.0', hostPort: 2222, guestAddress: '10.0.3.15', guestPort: 22 },
    ]);
  });

  it('sends hostfwd_add to the NIC\'s netdev and treats any output as failure', async () => {
    const ok = await monitor({});
    await addActiveForward(ok, 'net0', parsePortForward('tcp:47001:80'));
    expect(ok.calls).toEqual(['hostfwd_add net0-backend tcp:127.0.0.1:47001-:80']);
    const bad = await monitor({ 'hostfwd_add net0-backend udp:127.0.0.1:47002-:53': "Could not set up host forwarding rule 'udp:127.0.0.1:47002-:53'\r\n" });
    await expect(addActiveForward(bad, 'net0', parsePortForward('udp:47002:53'))).rejects.toThrow(/QEMU said "Could not set up host forwarding rule/);
  });

  it('reads hostfwd_remove\'s reply', async () => {
    const m = await monitor({
      'hostfwd_remove net0-backend tcp:127.0.0.1:8080': 'host forwarding rule for tcp:127.0.0.1:8080 removed\r\n',
      'hostfwd_remove net0-backend tcp:127.0.0.1:8081': 'host forwarding rule for tcp:127.0.0.1:8081 not found\r\n',
      'hostfwd_remove nope-backend tcp:127.0.0.1:8082': "unrecognized netdev id 'nope-backend'\r\n",
    });
    expect(await removeActiveForward(m, 'net0', parsePortForward('tcp:8080:80'))).toEqual({ removed: true });
    expect(await removeActiveForward(m, 'net0', parsePortForward('tcp:8081:80'))).toEqual({ removed: false });
    await expect(removeActiveForward(m, 'nope', parsePortForward('tcp:8082:80'))).rejects.toThrow(/unrecognized netdev id/);
  });

  it('refuses a forward clashing with one on the VM', () => {
    const existing = [parsePortForward('tcp:8080:80')];
    expect(() => assertNoForwardClash(existing, parsePortForward('tcp:0.0.0.0:8080:22'))).toThrow(/clashes with tcp:127.0.0.1:8080:80/);
    expect(() => assertNoForwardClash(existing, parsePortForward('udp:8080:80'))).not.toThrow();
  });
});
