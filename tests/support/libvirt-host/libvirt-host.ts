// Fake libvirt hosts for tests: each has its own mount and UTS namespaces (bind mounts over
// libvirt's folders, its own host name and host_uuid) with its own virtlogd and libvirtd; a
// networked host also has its own network namespace, a veth (fixed MAC) onto a bridge in a
// switch namespace that this computer reaches by its own veth, and a key-only sshd.
// `stop()` kills every process left in the host's namespaces and removes what it made.
import { execFile, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const INIT = path.join(import.meta.dirname, 'host-init.sh');

export const isRoot = (process.geteuid?.() ?? 1) === 0;

/** Why fake hosts cannot run here, or undefined when they can. */
export function fakeHostsUnavailable(): string | undefined {
  if (!isRoot) return 'fake libvirt hosts need root (namespaces, libvirtd)';
  for (const binary of ['/usr/sbin/libvirtd', '/usr/sbin/virtlogd', '/usr/sbin/sshd', '/usr/bin/virsh']) {
    if (!existsSync(binary)) return `${binary} is missing: run tests/setup.sh`;
  }
  return undefined;
}

export function run(command: string, args: string[], timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout: timeoutMs }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} ${args.join(' ')} failed: ${stderr.trim() || error.message}`));
      else resolve(stdout);
    });
  });
}

export interface FakeSwitch {
  namespace: string;
  bridge: string;
  /** This computer's address on the switch. */
  localAddress: string;
  subnet: string;
  stop(): Promise<void>;
}

/** A bridge in its own network namespace, reachable from this computer through a veth. */
export async function startSwitch(): Promise<FakeSwitch> {
  const tag = randomBytes(3).toString('hex');
  const namespace = `vd-lvsw-${tag}`;
  const subnet = `10.${200 + (randomBytes(1)[0]! % 50)}.${randomBytes(1)[0]}`;
  const local = `lvl${tag}`;
  const localPeer = `lvm${tag}`;
  await run('ip', ['netns', 'add', namespace]);
  const stop = async (): Promise<void> => {
    await run('ip', ['link', 'del', local]).catch(() => undefined);
    await run('ip', ['netns', 'del', namespace]).catch(() => undefined);
  };
  try {
    await run('ip', ['-n', namespace, 'link', 'add', 'br0', 'type', 'bridge']);
    await run('ip', ['-n', namespace, 'link', 'set', 'br0', 'up']);
    await run('ip', ['-n', namespace, 'link', 'set', 'lo', 'up']);
    await run('ip', ['link', 'add', local, 'address', '02:76:64:00:00:01', 'type', 'veth', 'peer', 'name', localPeer]);
    await run('ip', ['link', 'set', localPeer, 'netns', namespace]);
    await run('ip', ['-n', namespace, 'link', 'set', localPeer, 'master', 'br0', 'up']);
    await run('ip', ['addr', 'add', `${subnet}.1/24`, 'dev', local]);
    await run('ip', ['link', 'set', local, 'up']);
  } catch (error) {
    await stop();
    throw error;
  }
  return { namespace, bridge: 'br0', localAddress: `${subnet}.1`, subnet, stop };
}

export interface FakeHostOptions {
  hostname: string;
  /** Joins the switch with this last address byte, and runs a key-only sshd. */
  network?: { switch: FakeSwitch; index: number };
}

export interface FakeHost {
  hostname: string;
  hostUuid: string;
  root: string;
  /** libvirtd's read-write socket as seen from this computer. */
  socket: string;
  /** Set for networked hosts. */
  address?: string;
  namespace?: string;
  /** ssh material for networked hosts: a client key the host accepts, and a known_hosts naming its key. */
  ssh?: { clientKey: string; knownHosts: string; hostKeyFingerprint: string };
  /** The qemu+ssh URI of a networked host for the test client. */
  sshUri?: (path?: 'system' | 'session') => string;
  /** libvirtd's pid: nsenter -t PID enters the host. */
  pid: number;
  /** The pids of processes in the host's mount namespace. */
  processes(): number[];
  /** Runs a command inside the host's namespaces. */
  exec(command: string[], timeoutMs?: number): Promise<string>;
  stop(): Promise<void>;
}

export async function startFakeHost(options: FakeHostOptions): Promise<FakeHost> {
  const root = mkdtempSync(path.join(tmpdir(), `vd-lvhost-${options.hostname}-`));
  const hostUuid = randomUUID();
  for (const dir of ['run/libvirt', 'var/lib/libvirt', 'var/cache/libvirt', 'var/log/libvirt']) mkdirSync(path.join(root, dir), { recursive: true });
  cpSync('/etc/libvirt', path.join(root, 'etc/libvirt'), { recursive: true });
  // No default network autostarting on a test host (it would make bridges and firewall rules).
  rmSync(path.join(root, 'etc/libvirt/qemu/networks/autostart'), { recursive: true, force: true });
  writeFileSync(path.join(root, 'etc/libvirt/libvirtd.conf'), [
    `host_uuid = "${hostUuid}"`,
    'log_outputs = "3:file:/var/log/libvirt/libvirtd.log"',
    'unix_sock_rw_perms = "0700"',
    '',
  ].join('\n'));
  // QEMU as root: with /dev/kvm root-only here, libvirt would otherwise re-probe QEMU on every define (50-90 s).
  writeFileSync(path.join(root, 'etc/libvirt/qemu.conf'), 'user = "root"\ngroup = "root"\n');

  let namespace: string | undefined;
  let address: string | undefined;
  let ssh: FakeHost['ssh'];
  const prefix: string[] = [];
  if (options.network) {
    const { switch: fabric, index } = options.network;
    const tag = fabric.namespace.slice(-6);
    namespace = `vd-lvh${index}-${tag}`;
    address = `${fabric.subnet}.${index + 10}`;
    const hostSide = `lvh${index}${tag}`;
    await run('ip', ['netns', 'add', namespace]);
    await run('ip', ['link', 'add', hostSide, 'type', 'veth', 'peer', 'name', `lvs${index}${tag}`]);
    await run('ip', ['link', 'set', hostSide, 'netns', namespace]);
    await run('ip', ['link', 'set', `lvs${index}${tag}`, 'netns', fabric.namespace]);
    await run('ip', ['-n', fabric.namespace, 'link', 'set', `lvs${index}${tag}`, 'master', fabric.bridge, 'up']);
    await run('ip', ['-n', namespace, 'link', 'set', hostSide, 'name', 'eth0']);
    // A fixed MAC per address: a re-created host with a new MAC leaves stale neighbour entries (74 s first ssh).
    await run('ip', ['-n', namespace, 'link', 'set', 'eth0', 'address', `02:76:64:00:01:${(index + 10).toString(16).padStart(2, '0')}`]);
    await run('ip', ['-n', namespace, 'addr', 'add', `${address}/24`, 'dev', 'eth0']);
    await run('ip', ['-n', namespace, 'link', 'set', 'eth0', 'up']);
    await run('ip', ['-n', namespace, 'link', 'set', 'lo', 'up']);
    ssh = await prepareSsh(root, address);
    prefix.push('ip', 'netns', 'exec', namespace);
  }

  const init = spawn(prefix[0] ?? 'unshare', [...prefix.slice(1), ...(prefix.length ? ['unshare'] : []), '--mount', '--uts', '--propagation', 'private', 'bash', INIT, root, options.hostname], { stdio: ['ignore', 'ignore', 'pipe'] });
  let initError = '';
  init.stderr.setEncoding('utf8').on('data', (text: string) => (initError += text));
  const code = await new Promise<number>((resolve) => init.on('close', (exit) => resolve(exit ?? 1)));
  const libvirtdPid = readPid(path.join(root, 'run/libvirt/libvirtd.pid'));
  const mountNamespace = libvirtdPid ? safeReadlink(`/proc/${libvirtdPid}/ns/mnt`) : undefined;

  const processes = (): number[] => {
    if (!mountNamespace) return [];
    return readdirSync('/proc').filter((entry) => /^\d+$/.test(entry)).map(Number)
      .filter((pid) => pid !== process.pid && safeReadlink(`/proc/${pid}/ns/mnt`) === mountNamespace);
  };
  const host: FakeHost = {
    hostname: options.hostname,
    hostUuid,
    root,
    socket: path.join(root, 'run/libvirt/libvirt-sock'),
    pid: libvirtdPid ?? 0,
    processes,
    exec: (command, timeoutMs = 30_000) => {
      if (!libvirtdPid) return Promise.reject(new Error('the fake host is not running'));
      return run('nsenter', ['-t', String(libvirtdPid), '-m', '-u', ...(namespace ? ['-n'] : []), '--', ...command], timeoutMs);
    },
    stop: async () => {
      for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
        for (const pid of processes()) {
          try { process.kill(pid, signal); } catch { /* gone */ }
        }
        for (let wait = 0; wait < 40 && processes().length > 0; wait++) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      if (namespace) await run('ip', ['netns', 'del', namespace]).catch(() => undefined);
      rmSync(root, { recursive: true, force: true });
    },
  };
  if (address) host.address = address;
  if (namespace) host.namespace = namespace;
  if (ssh) {
    host.ssh = ssh;
    host.sshUri = (uriPath = 'system') => `qemu+ssh://root@${address}/${uriPath}?keyfile=${ssh!.clientKey}`;
  }
  if (code !== 0) {
    await host.stop();
    throw new Error(`The fake libvirt host ${options.hostname} did not start: ${initError.trim()}`);
  }
  return host;
}

async function prepareSsh(root: string, address: string): Promise<NonNullable<FakeHost['ssh']>> {
  const dir = path.join(root, 'ssh');
  mkdirSync(dir, { mode: 0o700 });
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, 'host_key')]);
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, 'client_key')]);
  writeFileSync(path.join(dir, 'authorized_keys'), readFileSync(path.join(dir, 'client_key.pub')));
  writeFileSync(path.join(dir, 'known_hosts'), `${address} ${readFileSync(path.join(dir, 'host_key.pub'), 'utf8').split(' ').slice(0, 2).join(' ')}\n`);
  const fingerprint = (await run('ssh-keygen', ['-l', '-f', path.join(dir, 'host_key.pub')])).split(' ')[1]!;
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  writeFileSync(path.join(dir, 'sshd_config'), [
    `ListenAddress ${address}`,
    `HostKey ${dir}/host_key`,
    `AuthorizedKeysFile ${dir}/authorized_keys`,
    `PidFile /run/libvirt/sshd.pid`,
    'PermitRootLogin prohibit-password',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    'StrictModes no',
    'MaxStartups 100',
    '',
  ].join('\n'));
  return { clientKey: path.join(dir, 'client_key'), knownHosts: path.join(dir, 'known_hosts'), hostKeyFingerprint: fingerprint };
}

function readPid(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function safeReadlink(file: string): string | undefined {
  try {
    return readlinkSync(file);
  } catch {
    return undefined;
  }
}
