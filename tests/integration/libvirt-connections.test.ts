// Saved libvirt connections and the CLI's `-c`: `conn add/list/remove`, vm and host commands on
// the shared fake host (its test:///default driver through the local socket, and qemu+ssh), and
// the registry's reconnect with back-off after the host's sshd dies and comes back.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { processIo, type CliIo } from '../../engine/cli/command';
import { commandsFor, engineCommandGroups } from '../../engine/cli/commands';
import { runWithConnectOption } from '../../engine/cli/connected-cli';
import { runCli } from '../../engine/cli/run-cli';
import type { LibvirtConnection } from '../../engine/libvirt/connection/libvirt-connection';
import { openLibvirtConnection } from '../../engine/libvirt/connection/open-connection';
import { ConnectionRegistry, type ConnectionStatus } from '../../engine/libvirt/connections/connection-registry';
import { closeSshMaster } from '../../engine/libvirt/transport/ssh';
import { runtimeRoot } from '../../engine/paths';
import { run } from '../support/libvirt-host/libvirt-host';
import { createTempHome, type TempHome } from '../support/leaks';

const shared = inject('libvirtHost');

describe.skipIf(shared.unavailable !== undefined)(`libvirt connections and the CLI's -c${shared.unavailable ? ` (skipped: ${shared.unavailable})` : ''}`, () => {
  let home: TempHome;
  let sshConfig: string;
  const testUri = `test:///default?socket=${shared.socket}`;
  const domainName = `vd-cli-${Date.now().toString(36)}`;
  const timings: Record<string, number> = {};
  // libvirtd keeps test:///default's state only while some connection has it open.
  let holder: LibvirtConnection;

  async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    let stdout = '';
    let stderr = '';
    const io: CliIo = { ...processIo, stdout: (text) => void (stdout += text), stderr: (text) => void (stderr += text), env: home.env };
    const code = await runWithConnectOption(argv, io, async (rest) => runCli(rest, await commandsFor(rest, engineCommandGroups), io));
    return { code, stdout, stderr };
  }

  beforeAll(async () => {
    home = await createTempHome('vd-libvirt-conn-');
    sshConfig = path.join(home.home, 'ssh_config');
    writeFileSync(sshConfig, `UserKnownHostsFile ${shared.knownHosts}\nGlobalKnownHostsFile /dev/null\nIdentityFile ${shared.clientKey}\n`);
    home.env.VIRTDESK_SSH_CONFIG = sshConfig;
    holder = await openLibvirtConnection(testUri, { sshControlDir: '/nonexistent' });
    await holder.defineXml(`<domain type='test'><name>${domainName}</name><memory unit='MiB'>32</memory><vcpu>1</vcpu><os><type>hvm</type></os></domain>`);
  });
  afterAll(async () => {
    const domain = await holder?.lookupDomain(domainName).catch(() => undefined);
    if (domain) {
      await holder.destroy(domain).catch(() => undefined);
      await holder.undefine(domain);
    }
    await holder?.close();
    await closeSshMaster({ host: shared.address!, user: 'root' }, path.join(runtimeRoot(home.home, home.env), 'ssh'), sshConfig);
    await home?.cleanup();
    console.log(`virtdesk -c (in-process CLI, ms): ${Object.entries(timings).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ')}`);
  });

  it('conn add, list and remove keep the connections in the preferences', async () => {
    expect(await cli('conn', 'list')).toMatchObject({ code: 0, stdout: expect.stringContaining('No libvirt connections') });
    expect(await cli('conn', 'add', 'lab', testUri, '--autoconnect')).toMatchObject({ code: 0, stdout: `Added connection "lab" (${testUri}, connects at start).\n` });
    expect(await cli('conn', 'add', 'remote', shared.sshUri!)).toMatchObject({ code: 0 });
    const listed = await cli('conn', 'list', '--json');
    expect(JSON.parse(listed.stdout)).toEqual([
      { name: 'lab', uri: testUri, autoconnect: true },
      { name: 'remote', uri: shared.sshUri, autoconnect: false },
    ]);
    expect((await cli('conn', 'list')).stdout).toMatch(/^NAME\s+URI\s+AUTOCONNECT\nlab\s+test:\/\/\/default\S*\s+yes\nremote\s+qemu\+ssh:\S+\s+no\n$/);
    expect(await cli('conn', 'add', 'lab', 'qemu:///system')).toMatchObject({ code: 1, stderr: expect.stringContaining('A connection named "lab" already exists') });
    expect(await cli('conn', 'add', 'odd', 'vbox:///session')).toMatchObject({ code: 1, stderr: expect.stringContaining("the driver 'vbox' is not supported") });
    expect(await cli('conn', 'add', 'bad name', 'qemu:///system')).toMatchObject({ code: 1, stderr: expect.stringContaining('cannot name a connection') });
    expect(await cli('conn', 'add', 'gone', 'qemu:///system')).toMatchObject({ code: 0 });
    expect(await cli('conn', 'remove', 'gone')).toMatchObject({ code: 0, stdout: 'Removed connection "gone" (qemu:///system).\n' });
    expect(await cli('conn', 'remove', 'gone')).toMatchObject({ code: 1, stderr: expect.stringContaining('There is no connection named "gone"') });
  });

  it('-c NAME runs vm list, info, start, stop, force-off and host info on the connection', async () => {
    let started = performance.now();
    const list = await cli('-c', 'lab', 'vm', 'list');
    timings.vmList = performance.now() - started;
    expect(list).toMatchObject({ code: 0, stderr: '' });
    expect(list.stdout).toMatch(new RegExp(`^${domainName}\\s+shutoff\\s+-$`, 'm'));
    expect(list.stdout).toMatch(/^test\s+running\s+\d+$/m);
    started = performance.now();
    expect(await cli('vm', 'start', domainName, '-c', 'lab')).toMatchObject({ code: 0, stdout: expect.stringMatching(new RegExp(`^Started VM "${domainName}" \\(id \\d+\\)\\.\\n$`)) });
    timings.vmStart = performance.now() - started;
    const info = JSON.parse((await cli('-c', 'lab', 'vm', 'info', domainName, '--json')).stdout) as { state: string; memoryKiB: number; vcpus: number };
    expect(info).toMatchObject({ state: 'running', memoryKiB: 32 * 1024, vcpus: 1 });
    expect((await cli('-c', 'lab', 'vm', 'info', domainName, '--xml')).stdout).toContain(`<name>${domainName}</name>`);
    expect(await cli('-c', 'lab', 'vm', 'stop', domainName, '--wait', '10')).toMatchObject({ code: 0, stdout: `VM "${domainName}" shut down.\n` });
    await cli('-c', 'lab', 'vm', 'start', domainName);
    expect(await cli('--connect=lab', 'vm', 'force-off', domainName)).toMatchObject({ code: 0, stdout: `VM "${domainName}" was forced off.\n` });
    expect(JSON.parse((await cli('-c', 'lab', 'host', 'info', '--json')).stdout)).toMatchObject({ hostname: shared.hostname, libvirtVersion: '9.0.0' });
  });

  it('-c with a URI, and clear errors for a missing connection, domain or command', async () => {
    expect((await cli('-c', testUri, 'vm', 'list', '--json')).code).toBe(0);
    expect(await cli('-c', 'nosuch', 'vm', 'list')).toMatchObject({ code: 1, stderr: expect.stringContaining('There is no connection named "nosuch"') });
    expect(await cli('-c', 'lab', 'vm', 'start', 'no-such-vm')).toMatchObject({ code: 1, stderr: expect.stringContaining('Domain not found') });
    expect(await cli('-c', 'lab', 'vm', 'create', 'x')).toMatchObject({ code: 2, stderr: expect.stringContaining('"vm create" does not run on a libvirt connection') });
    expect(await cli('-c', 'lab', 'vm', 'start', 'test', 'extra')).toMatchObject({ code: 2, stderr: expect.stringContaining('unexpected argument "extra"') });
  });

  it('-c over qemu+ssh lists the fake host\'s VMs', async () => {
    const started = performance.now();
    const result = await cli('-c', 'remote', 'host', 'info', '--json');
    timings.sshHostInfo = performance.now() - started;
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toMatchObject({ hostname: shared.hostname });
    expect(await cli('-c', 'remote', 'vm', 'list')).toMatchObject({ code: 0 });
  });

  it('the registry reconnects with back-off after the host\'s sshd dies and comes back', async () => {
    const changes: ConnectionStatus[] = [];
    const controlDir = path.join(home.home, 'registry-ssh');
    const registry = new ConnectionRegistry({
      home: home.home,
      open: { sshControlDir: controlDir, sshConfigFile: sshConfig, timeoutMs: 5000 },
      backoff: { initialMs: 200, maxMs: 1000 },
      onChange: (status) => changes.push(status),
    });
    const inHost = (command: string[]) => run('nsenter', ['-t', String(shared.libvirtdPid), '-m', '-u', '-n', '--', ...command]);
    try {
      const statuses = await registry.autoconnect();
      expect(statuses.find((status) => status.name === 'lab')?.state).toBe('connected');
      expect(statuses.find((status) => status.name === 'remote')?.state).toBe('disconnected');
      const remote = await registry.connect('remote');
      expect(await remote.hostname()).toBe(shared.hostname);
      const killedAt = Date.now();
      await run('kill', ['-KILL', ...(await inHost(['pgrep', '-x', 'sshd'])).trim().split('\n')]);
      await waitFor(() => registry.get('remote')?.state === 'reconnecting' && registry.get('remote')?.lastError !== null, 10_000);
      timings.sshdKilledToReconnecting = Date.now() - killedAt;
      expect(registry.get('remote')?.lastError?.message).toMatch(/closed|Cannot reach|refused/);
      expect((await (await registry.connect('lab')).listAllDomains()).length).toBeGreaterThan(0); // the other connection is unaffected
      await inHost(['/usr/sbin/sshd', '-f', path.join(shared.root!, 'ssh/sshd_config')]);
      const restartedAt = Date.now();
      await waitFor(() => registry.get('remote')?.state === 'connected', 15_000);
      timings.sshdBackToConnected = Date.now() - restartedAt;
      expect(registry.get('remote')?.lastError).toBeNull();
      expect(changes.map((status) => `${status.name}:${status.state}`)).toEqual(expect.arrayContaining(['remote:connecting', 'remote:connected', 'remote:reconnecting']));
      await registry.disconnect('remote');
      expect(registry.get('remote')?.state).toBe('disconnected');
    } finally {
      await registry.dispose();
      await closeSshMaster({ host: shared.address!, user: 'root' }, controlDir, sshConfig);
    }
  });
});

async function waitFor(check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
