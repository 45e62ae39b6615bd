// The CLI end to end: `virtdesk net …` against a real network in a namespace (root), and
// `virtdesk vm port-forward …` against a VM started by engine/vm (user NAT, loopback only).
import { request } from 'node:http';
import { connect } from 'node:net';
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createNetCommands } from '../../engine/cli/net-commands';
import { runCli } from '../../engine/cli/run-cli';
import type { CliIo } from '../../engine/cli/command';
import { createVmDefinition } from '../../engine/model';
import { netnsRunner } from '../../engine/network/command-runner';
import { NetworkManager } from '../../engine/network/network-manager';
import { stopVm } from '../../engine/vm/ops/control';
import { startVm } from '../../engine/vm/ops/start';
import { openVmStore } from '../../engine/vm/definitions/store';
import { vmRuntimePaths } from '../../engine/vm/runtime/paths';
import { ensureTestGuest, HTTP_BODY_TEXT, READY_LINE } from '../guest/guest';
import { isRoot, leftovers, netnsLeftovers, Resources, suffix } from './network-harness';
import { readFile } from 'node:fs/promises';

function capture(env: NodeJS.ProcessEnv): { io: CliIo; out: () => string; err: () => string; reset: () => void } {
  let out = '';
  let err = '';
  return {
    io: { stdout: (t) => (out += t), stderr: (t) => (err += t), env },
    out: () => out,
    err: () => err,
    reset: () => {
      out = '';
      err = '';
    },
  };
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

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('virtdesk net and vm port-forward', () => {
  const res = new Resources();
  afterEach(async () => {
    await res.cleanup();
  });

  it.skipIf(!isRoot)('drives a network through its whole life from the CLI (root, in a namespace)', { timeout: 120_000 }, async () => {
    const ns = await res.namespace(`vdcli-${suffix()}`);
    const home = await res.tempDir('vd-netcli-');
    const stateRoot = `${home}/state`;
    const manager = () => new NetworkManager({ home, runner: netnsRunner(ns), stateRoot });
    res.add(async () => {
      for (const s of (await manager().list()).items) await manager().delete(s.definition.id, { force: true });
    });
    const commands = createNetCommands({ networks: manager });
    const c = capture({ ...process.env, VIRTDESK_HOME: home });
    const cli = (...argv: string[]) => runCli(argv, commands, c.io);

    expect(await cli('net', 'create', 'lab', '--ipv4', '10.251.7.1/24', '--start', '--json')).toBe(0);
    expect(JSON.parse(c.out())).toMatchObject({ name: 'lab', state: 'active', bridge: 'vdbr0', subnet: '10.251.7.0/24', problems: [] });
    c.reset();
    expect(await cli('net', 'list')).toBe(0);
    expect(c.out()).toMatch(/lab\s+active\s+nat\s+vdbr0/);
    c.reset();
    expect(await cli('net', 'show', 'lab')).toBe(0);
    expect(c.out()).toMatch(/dnsmasq\s+pid \d+/);
    c.reset();
    expect(await cli('net', 'leases', 'lab')).toBe(0);
    expect(c.out()).toBe('No leases.\n');
    c.reset();
    expect(await cli('net', 'stop', 'lab')).toBe(0);
    expect(c.out()).toBe('Network lab is inactive.\n');
    expect(await netnsLeftovers(ns)).toEqual([]);
    expect(await cli('net', 'start', 'lab')).toBe(0);
    expect(await cli('net', 'delete', 'lab')).toBe(0);
    expect(await netnsLeftovers(ns)).toEqual([]);
    expect(await leftovers({ namespaces: [], stateRoot })).toEqual([]);
  });

  it('adds and removes port forwards on a VM that engine/vm started', { timeout: 300_000 }, async () => {
    const home = await res.tempDir('vd-pf-');
    const env = { ...process.env, VIRTDESK_HOME: home, VIRTDESK_RUNTIME_DIR: `${home}/r` };
    const guest = await ensureTestGuest();
    const store = openVmStore(home);
    const def = await store.create(
      createVmDefinition({
        name: 'pf',
        accelerator: 'tcg',
        memory: { maximumMiB: 192 },
        directKernel: { kernel: guest.kernel, initrd: guest.initrd, cmdline: guest.cmdline },
        display: { vnc: false },
        nics: [{ network: { kind: 'user' } }],
      }),
    );
    await startVm(def, { home, env });
    res.add(() => stopVm(def, { home, env }, { force: true }).catch(() => undefined));
    const serialLog = vmRuntimePaths(home, def.id, env).serialLog;
    for (let i = 0; i < 600 && !READY_LINE.test(await readFile(serialLog, 'utf8').catch(() => '')); i++) await new Promise((r) => setTimeout(r, 250));
    expect(await readFile(serialLog, 'utf8')).toMatch(READY_LINE);

    const c = capture(env);
    const cli = (...argv: string[]) => runCli(argv, createNetCommands(), c.io);
    const port = await freePort();
    expect(await cli('vm', 'port-forward', 'pf', 'add', `tcp:${port}:80`)).toBe(0);
    expect(c.out()).toContain('(active now)');
    expect(await httpGet(port)).toContain(HTTP_BODY_TEXT);
    c.reset();
    expect(await cli('vm', 'port-forward', 'pf', 'list', '--json')).toBe(0);
    expect(JSON.parse(c.out())).toMatchObject({ running: true, forwards: [{ nic: 'net0', active: true, forward: { hostPort: port, guestPort: 80 } }] });
    c.reset();
    expect(await cli('vm', 'port-forward', 'pf', 'remove', `tcp:${port}`)).toBe(0);
    expect(c.out()).toContain('(closed now)');
    expect(await accepts(port)).toBe(false);
    expect((await store.resolve('pf')).nics[0]!.network).toMatchObject({ portForwards: [] });
  });
});
