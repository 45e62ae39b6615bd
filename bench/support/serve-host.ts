import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { createWebSocketStream, WebSocket } from 'ws';
import { createRpcClient, type RpcClient } from '../../engine/api/rpc-client';
import type { Transport } from '../../engine/api/transport';
import { virtdeskContract, type VirtdeskContract } from '../../engine/api/virtdesk-api';
import { findRunningQemu, waitForExit } from '../../engine/vm/runtime/pidfile';
import { vmRuntimePaths } from '../../engine/vm/runtime/paths';
import { childProcessesRunning, isRunning } from './proc';
import { builtCli, repoRoot } from './repo';

export interface ServeHost {
  /** http://127.0.0.1:<port> */
  origin: string;
  pid: number;
  home: string;
  /** The environment serve runs with (VIRTDESK_HOME, a short runtime folder). */
  env: NodeJS.ProcessEnv;
  /** The session cookie the launch token was exchanged for (a browser can carry it too). */
  cookie: { name: string; value: string };
  /** A typed RPC client over the same WebSocket the renderer uses. */
  rpc: RpcClient<VirtdeskContract>;
  /** Another RPC connection, e.g. one per simulated window. */
  connect(): Promise<RpcClient<VirtdeskContract>>;
  /** A VM's VNC console the way the renderer opens it: ticket and one-time password over RPC, bytes over /console. */
  openVncStream(vmId: string): Promise<{ stream: Duplex; password: string }>;
  /** The supervisor processes serve forked (one per running VM it watches). */
  supervisors(): Promise<number[]>;
  /** QEMU processes of the VMs in this home. */
  qemus(): Promise<number[]>;
  output(): string;
  /** Forces every VM off, stops serve, and kills anything it left behind. */
  stop(): Promise<void>;
}

/** Exchanges the launch token for the session cookie, the way a browser opening the URL does. */
function login(url: string): Promise<{ name: string; value: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET' }, (response) => {
      response.resume();
      const header = response.headers['set-cookie']?.[0];
      const match = header ? /^([^=]+)=([^;]+)/.exec(header) : null;
      if (response.statusCode !== 303 || !match) return reject(new Error(`serve did not sign in (HTTP ${response.statusCode})`));
      resolve({ name: match[1]!, value: match[2]! });
    });
    req.on('error', reject);
    req.end();
  });
}

function wsClientTransport(socket: WebSocket): Transport {
  return {
    send: (message) => socket.send(JSON.stringify(message)),
    onMessage: (handler) => socket.on('message', (data, isBinary) => !isBinary && handler(JSON.parse(data.toString()))),
    onClose: (handler) => socket.on('close', handler),
    close: () => socket.close(),
  };
}

async function openRpc(origin: string, cookie: { name: string; value: string }): Promise<RpcClient<VirtdeskContract>> {
  const socket = new WebSocket(`${origin.replace(/^http/, 'ws')}/rpc`, { headers: { Cookie: `${cookie.name}=${cookie.value}` }, origin });
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  return createRpcClient(virtdeskContract, wsClientTransport(socket), { defaultTimeoutMs: 120_000 });
}

/**
 * Starts the built `virtdesk serve` (dist/node/cli.cjs) on a free loopback port with `home` as
 * VIRTDESK_HOME and a short runtime folder, signs in and opens an RPC connection.
 */
export async function startServe(home: string): Promise<ServeHost> {
  const cli = await builtCli();
  if ('missing' in cli) throw new Error(cli.missing);
  const env: NodeJS.ProcessEnv = { ...process.env, VIRTDESK_HOME: home, VIRTDESK_RUNTIME_DIR: join(home, 'run') };
  // The bench names the test guest's files in the repository's cache, which is no pool: allow that
  // folder on the host first (a browser session may name only allowed folders), as a user would.
  const guestCache = join(repoRoot(), '.cache', 'guest');
  const allowed = spawnSync(process.execPath, [cli.path, 'folder', 'allow', guestCache], { env, encoding: 'utf8' });
  if (allowed.status !== 0) throw new Error(`virtdesk folder allow ${guestCache} failed: ${allowed.stderr}`);
  const child: ChildProcess = spawn(process.execPath, [cli.path, 'serve', '--port', '0'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve printed no URL within 60 s:\n${output}`)), 60_000);
    const check = () => {
      const match = /serving at (\S+)/.exec(output);
      if (!match?.[1]) return;
      clearTimeout(timer);
      resolve(match[1]);
    };
    child.stdout!.on('data', check);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`serve exited before printing its URL:\n${output}`));
    });
  });
  const origin = new URL(url).origin;
  const cookie = await login(url);
  const rpc = await openRpc(origin, cookie);
  const pid = child.pid!;

  const qemus = async (): Promise<number[]> => {
    const ids = await readdir(join(home, 'vms')).catch(() => [] as string[]);
    const pids = await Promise.all(ids.map((id) => findRunningQemu(vmRuntimePaths(home, id, env))));
    return pids.filter((p): p is number => p !== undefined);
  };

  return {
    origin,
    pid,
    home,
    env,
    cookie,
    rpc,
    connect: () => openRpc(origin, cookie),
    async openVncStream(vmId) {
      const { ticket, password } = await rpc.api.vms.openConsole({ id: vmId, kind: 'vnc' });
      const socket = new WebSocket(`${origin.replace(/^http/, 'ws')}/console?ticket=${encodeURIComponent(ticket)}`, { headers: { Cookie: `${cookie.name}=${cookie.value}` }, origin });
      // At once: QEMU speaks first, and `ws` drops messages nobody listens to.
      const stream = createWebSocketStream(socket);
      await new Promise<void>((resolve, reject) => {
        socket.once('open', () => resolve());
        socket.once('error', reject);
      });
      return { stream, password: password ?? '' };
    },
    supervisors: () => childProcessesRunning(pid, 'supervisor.cjs'),
    qemus,
    output: () => output,
    async stop() {
      const supervisors = await childProcessesRunning(pid, 'supervisor.cjs');
      const list = await rpc.api.vms.list({}).catch(() => []);
      await Promise.all(list.filter((vm) => vm.state !== 'stopped').map((vm) => rpc.api.vms.stop({ id: vm.id, force: true }).catch(() => undefined)));
      rpc.close();
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 15_000))]);
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        await exited;
      }
      for (const qemu of await qemus()) {
        process.kill(qemu, 'SIGKILL');
        await waitForExit(qemu, 5000);
      }
      for (const supervisor of supervisors) if (isRunning(supervisor)) process.kill(supervisor, 'SIGKILL');
    },
  };
}
