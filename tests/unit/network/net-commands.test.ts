import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EngineError } from '../../../engine/api/errors';
import { createNetCommands } from '../../../engine/cli/net-commands';
import { runCli } from '../../../engine/cli/run-cli';
import type { CliIo } from '../../../engine/cli/command';
import { createVmDefinition } from '../../../engine/model';
import type { CommandRunner } from '../../../engine/network/command-runner';
import { NetworkManager, type PrivilegedCall } from '../../../engine/network/network-manager';
import { openVmStore } from '../../../engine/vm/definitions/store';

/** A host with one LAN route and no interfaces of ours; nft and ip link report nothing. */
const fakeHost: CommandRunner = {
  wrap: (command, args) => ({ command, args: [...args] }),
  run: async (command, args) => {
    if (command === 'ip' && args.includes('route')) return { code: 0, stdout: JSON.stringify([{ dst: '192.168.1.0/24', dev: 'eth0' }]), stderr: '' };
    if (command === 'ip' && args.includes('link') && args.includes('dev')) return { code: 1, stdout: '', stderr: 'Device does not exist.' };
    if (command === 'ip') return { code: 0, stdout: '[]', stderr: '' };
    return { code: 1, stdout: '', stderr: 'Error: No such file or directory' };
  },
};

describe('virtdesk net / vm port-forward (no privileges needed)', () => {
  let home: string;
  let out: string;
  let err: string;
  let io: CliIo;
  const privilegedCalls: string[] = [];
  const privileged: PrivilegedCall = async (op) => {
    privilegedCalls.push(op.op);
    throw new EngineError('permission-denied', 'no privileges in unit tests');
  };

  beforeEach(async () => {
    home = await mkdtemp(join(tmpdir(), 'vd-netcli-'));
    out = '';
    err = '';
    io = { stdout: (t) => (out += t), stderr: (t) => (err += t), env: { ...process.env, VIRTDESK_HOME: home, VIRTDESK_RUNTIME_DIR: join(home, 'r') } };
    privilegedCalls.length = 0;
  });
  afterEach(async () => {
    await rm(home, { recursive: true, force: true });
  });

  const commands = () =>
    createNetCommands({
      networks: () => new NetworkManager({ home, runner: fakeHost, stateRoot: join(home, 'state'), privileged }),
      privileged: () => privileged,
    });
  const cli = (...argv: string[]) => runCli(argv, commands(), io);

  it('creates, lists, shows and deletes a definition', async () => {
    expect(await cli('net', 'create', 'lab', '--mode', 'isolated', '--ipv4', '10.20.0.1/24', '--dhcp', '10.20.0.100-10.20.0.199', '--autostart')).toBe(0);
    expect(out).toBe('Created network lab (isolated, 10.20.0.1/24 on vdbr0).\n');
    out = '';
    expect(await cli('net', 'list')).toBe(0);
    expect(out).toMatch(/^NAME\s+STATE\s+MODE\s+BRIDGE\s+SUBNET\s+DHCP\s+AUTOSTART\nlab\s+inactive\s+isolated\s+vdbr0\s+10.20.0.0\/24\s+10.20.0.100-10.20.0.199\s+yes\n$/);
    out = '';
    expect(await cli('net', 'show', 'lab', '--json')).toBe(0);
    expect(JSON.parse(out)).toMatchObject({ name: 'lab', state: 'inactive', mode: 'isolated', dhcp: { start: '10.20.0.100', end: '10.20.0.199' }, autostart: true, files: { leaseFile: join(home, 'state', 'lab', 'dnsmasq.leases') } });
    out = '';
    expect(await cli('net', 'autostart', 'lab', '--off')).toBe(0);
    expect(out).toContain('no longer starts automatically');
    expect(await cli('net', 'leases', 'lab', '--json')).toBe(0);
    // An inactive network with no state on the host is deleted without any privileged step.
    expect(await cli('net', 'delete', 'lab')).toBe(0);
    expect(privilegedCalls).toEqual([]);
    expect(await cli('net', 'show', 'lab')).toBe(1);
  });

  it('reports every invalid input', async () => {
    expect(await cli('net', 'create')).toBe(2);
    expect(err).toContain('missing NAME');
    expect(await cli('net', 'create', 'x', '--mode', 'bridged')).toBe(2);
    expect(err).toContain('--mode must be one of nat, routed, isolated');
    expect(await cli('net', 'create', 'x', '--dhcp', '10.0.0.5')).toBe(2);
    expect(await cli('net', 'create', 'x', '--frobnicate')).toBe(2);
    err = '';
    expect(await cli('net', 'create', 'x', '--ipv4', '192.168.1.1/24')).toBe(1);
    expect(err).toContain("overlaps the host's route to 192.168.1.0/24 (on eth0)");
    err = '';
    expect(await cli('net', 'create', 'x', '--ipv4', '10.9.0.1/24', '--dhcp', '10.9.0.1-10.9.0.50')).toBe(1);
    expect(err).toContain("contains the network's own address 10.9.0.1");
    err = '';
    expect(await cli('net', 'create', 'x', '--bridge', 'much-too-long-name')).toBe(1);
    expect(err).toContain('at most 15');
    err = '';
    expect(await cli('net', 'create', 'bad name')).toBe(1);
    expect(await cli('net', 'show', 'nope')).toBe(1);
    expect(err).toContain('No network "nope"');
  });

  it('warns before a host bridge takes over an interface, and needs --yes', async () => {
    expect(await cli('net', 'host-bridge', 'create', 'br0', '--interface', 'eth0')).toBe(1);
    expect(err).toContain("moves this host's own network connection from eth0 to br0");
    expect(err).toContain('Re-run with --yes');
    expect(privilegedCalls).toEqual([]);
    expect(await cli('net', 'host-bridge', 'create', 'br0')).toBe(2);
  });

  it('adds, lists and removes port forwards of a stopped VM, refusing clashes', async () => {
    const store = openVmStore(home);
    const a = await store.create(createVmDefinition({ name: 'web', nics: [{ network: { kind: 'user' } }] }));
    await store.create(createVmDefinition({ name: 'other', nics: [{ network: { kind: 'user', portForwards: [{ hostPort: 18443, guestPort: 443 }] } }] }, { existing: [a] }));
    await store.create(createVmDefinition({ name: 'isolated', nics: [{ network: { kind: 'network', name: 'lab' } }] }, { existing: [a] }));

    expect(await cli('vm', 'port-forward', 'web', 'add', 'tcp:18080:80')).toBe(0);
    expect(out).toContain('Added tcp:127.0.0.1:18080:80 on net0 (active from the next start)');
    expect(await cli('vm', 'port-forward', 'web', 'add', 'udp:0.0.0.0:15353:53')).toBe(0);
    expect((await store.resolve('web')).nics[0]!.network).toMatchObject({
      portForwards: [
        { protocol: 'tcp', hostAddress: '127.0.0.1', hostPort: 18080, guestPort: 80 },
        { protocol: 'udp', hostAddress: '0.0.0.0', hostPort: 15353, guestPort: 53 },
      ],
    });
    out = '';
    expect(await cli('vm', 'port-forward', 'web', 'list', '--json')).toBe(0);
    expect(JSON.parse(out)).toMatchObject({ running: false, forwards: [{ nic: 'net0', active: null }, { nic: 'net0' }] });

    err = '';
    expect(await cli('vm', 'port-forward', 'web', 'add', 'tcp:0.0.0.0:18080:8080')).toBe(1);
    expect(err).toContain('clashes with tcp:127.0.0.1:18080:80, already on this VM');
    err = '';
    expect(await cli('vm', 'port-forward', 'web', 'add', 'tcp:18443:443')).toBe(1);
    expect(err).toContain('of VM "other"');
    err = '';
    expect(await cli('vm', 'port-forward', 'isolated', 'add', 'tcp:18081:80')).toBe(1);
    expect(err).toContain('has no user-mode NAT NIC');
    expect(await cli('vm', 'port-forward', 'web', 'add', 'tcp:80')).toBe(1);
    expect(await cli('vm', 'port-forward', 'web', 'frob')).toBe(2);

    out = '';
    expect(await cli('vm', 'port-forward', 'web', 'remove', 'tcp:18080')).toBe(0);
    expect(out).toContain('Removed tcp:127.0.0.1:18080:80 from net0.');
    err = '';
    expect(await cli('vm', 'port-forward', 'web', 'remove', 'tcp:18080')).toBe(1);
    expect(err).toContain('has no port forward tcp:18080');
    expect((await store.resolve('web')).nics[0]!.network).toMatchObject({ portForwards: [{ protocol: 'udp', hostPort: 15353 }] });
  });
});
