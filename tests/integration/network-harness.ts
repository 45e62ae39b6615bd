// Helpers for the network integration tests: network namespaces with veth links, a
// throw-away HTTP server, and test guests driven over their serial console. Every
// resource made here is recorded and removed by `cleanup()`; `leftovers()` reports what
// of ours still exists on the host so tests can assert a clean teardown.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ensureTestGuest, READY_LINE } from '../guest/guest';

export const QEMU = 'qemu-system-x86_64';

export function run(cmd: string, args: string[], timeoutMs = 30_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, stdout, stderr });
    });
  });
}

export async function must(cmd: string, args: string[]): Promise<string> {
  const result = await run(cmd, args);
  if (result.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${result.stderr.trim()}`);
  return result.stdout;
}

/** Short random suffix so parallel or leftover runs never collide (names stay within IFNAMSIZ). */
export function suffix(): string {
  return randomBytes(3).toString('hex');
}

export const isRoot = (process.geteuid?.() ?? 1) === 0;

/** A guest started under `ip netns exec` (or directly), with its serial console on stdio. */
export class Guest {
  serial = '';
  stderr = '';
  readonly exited: Promise<void>;
  private proc: ChildProcess;
  private waiters = new Set<() => void>();
  private done = false;

  constructor(
    readonly name: string,
    argv: string[],
    netns?: string,
    /** Runs before QEMU inside the namespace, e.g. ['sh', '-c', 'mount … && exec "$@"', 'sh']. */
    prefix: string[] = [],
  ) {
    const inner = [...prefix, QEMU, ...argv];
    const [cmd, args] = netns ? ['ip', ['netns', 'exec', netns, ...inner]] : [inner[0]!, inner.slice(1)];
    this.proc = spawn(cmd as string, args as string[], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc.stdout?.setEncoding('latin1').on('data', (d: string) => {
      this.serial += d;
      for (const w of this.waiters) w();
    });
    this.proc.stderr?.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    this.exited = new Promise((resolve) => {
      const finish = () => {
        this.done = true;
        for (const w of this.waiters) w();
        resolve();
      };
      this.proc.on('exit', finish);
      this.proc.on('error', (error) => {
        this.stderr += `spawn failed: ${error.message}`;
        finish();
      });
    });
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  waitFor(re: RegExp, timeoutMs: number, from = 0): Promise<{ match: RegExpExecArray; end: number }> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const match = re.exec(this.serial.slice(from));
        if (match) {
          cleanup();
          resolve({ match, end: from + match.index + match[0].length });
        } else if (this.done) {
          cleanup();
          reject(new Error(`${this.name} exited before ${re} appeared.\n${this.describe()}`));
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`${re} did not appear on ${this.name}'s serial within ${timeoutMs} ms.\n${this.describe()}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  /** Waits for the ready line; returns the guest's addresses. */
  async ready(timeoutMs = 120_000): Promise<string[]> {
    // Wait for the end of the line: serial output arrives in arbitrary chunks.
    const { match } = await this.waitFor(new RegExp(`${READY_LINE.source}\\r?\\n`), timeoutMs);
    const ips = match[1] ?? 'none';
    return ips === 'none' ? [] : ips.split(',');
  }

  private counter = 0;

  /** Runs a shell command on the serial console; resolves with its output and exit status. */
  async sh(command: string, timeoutMs = 60_000): Promise<{ code: number; output: string }> {
    const tag = `${++this.counter}x${suffix()}`;
    const from = this.serial.length;
    // The echoed command line shows `$((0+N))`; only the real output shows the number, so the
    // markers never match the echo (which the line editor may also wrap anywhere).
    this.proc.stdin?.write(`echo "@@B${tag}$((0+1))@@"; ${command}; echo "@@E${tag}:$?:$((0+7))@@"\n`);
    const end = await this.waitFor(new RegExp(`@@E${tag}:(\\d+):7@@`), timeoutMs, from);
    const text = this.serial.slice(from, end.end - end.match[0].length);
    const begin = text.indexOf(`@@B${tag}1@@`);
    const lineEnd = begin >= 0 ? text.indexOf('\n', begin) : -1;
    return { code: Number(end.match[1]), output: lineEnd >= 0 ? text.slice(lineEnd + 1).replace(/\r/g, '') : '' };
  }

  async kill(): Promise<void> {
    if (!this.done) this.proc.kill('SIGKILL');
    await this.exited;
  }

  describe(): string {
    const tail = (s: string) => s.split('\n').slice(-25).join('\n');
    return `--- ${this.name} serial (tail) ---\n${tail(this.serial)}\n--- ${this.name} qemu stderr ---\n${tail(this.stderr)}`;
  }
}

/**
 * QEMU argv for a test guest: TCG, direct kernel boot, serial on stdio, one virtio NIC per
 * entry. `netdev` is either a legacy `-netdev` string without id, or a props object from
 * engine/qemu/argv's `nicNetdev` (the production builder), passed as JSON with its own id.
 */
export async function guestArgv(nics: { netdev: string | Record<string, unknown>; mac: string }[], memoryMiB = 192): Promise<string[]> {
  const guest = await ensureTestGuest();
  const argv = [
    '-accel', 'tcg', '-nodefaults', '-no-user-config', '-machine', 'q35', '-m', String(memoryMiB),
    '-display', 'none', '-serial', 'stdio', '-monitor', 'none',
    '-kernel', guest.kernel, '-initrd', guest.initrd, '-append', guest.cmdline,
  ];
  nics.forEach((nic, i) => {
    if (typeof nic.netdev === 'string') {
      const id = `n${i}`;
      argv.push('-netdev', nic.netdev.replace(/^(\w+)/, `$1,id=${id}`), '-device', `virtio-net-pci,netdev=${id},mac=${nic.mac}`);
    } else {
      const id = String(nic.netdev.id);
      argv.push('-netdev', JSON.stringify(nic.netdev), '-device', `virtio-net-pci,netdev=${id},mac=${nic.mac}`);
    }
  });
  return argv;
}

/** Adds a QMP socket to an argv (for runtime changes such as hostfwd_add). */
export function withQmp(argv: string[], socketPath: string): string[] {
  return [...argv, '-qmp', `unix:${socketPath},server=on,wait=off`];
}

/** Records namespaces, processes and temp dirs made by a test, and removes them in reverse order. */
export class Resources {
  private undo: (() => Promise<unknown>)[] = [];
  readonly namespaces: string[] = [];

  add(fn: () => Promise<unknown>): void {
    this.undo.push(fn);
  }

  async namespace(name: string): Promise<string> {
    await must('ip', ['netns', 'add', name]);
    this.namespaces.push(name);
    this.add(() => run('ip', ['netns', 'del', name]));
    await must('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
    return name;
  }

  /** A veth pair with one end in each namespace, addressed and up. */
  async veth(a: { ns: string; dev: string; cidr?: string }, b: { ns: string; dev: string; cidr?: string }): Promise<void> {
    await must('ip', ['-n', a.ns, 'link', 'add', a.dev, 'type', 'veth', 'peer', 'name', b.dev, 'netns', b.ns]);
    for (const end of [a, b]) {
      if (end.cidr) await must('ip', ['-n', end.ns, 'addr', 'add', end.cidr, 'dev', end.dev]);
      await must('ip', ['-n', end.ns, 'link', 'set', end.dev, 'up']);
    }
  }

  async tempDir(prefix: string): Promise<string> {
    const dir = await mkdtemp(path.join(tmpdir(), prefix));
    this.add(() => rm(dir, { recursive: true, force: true }));
    return dir;
  }

  /** busybox httpd serving `body` at / on ADDRESS:PORT inside a namespace. */
  async httpServer(ns: string, address: string, port: number, body: string): Promise<void> {
    const dir = await this.tempDir('vd-net-http-');
    await writeFile(path.join(dir, 'index.html'), body);
    const proc = spawn('ip', ['netns', 'exec', ns, 'busybox', 'httpd', '-f', '-p', `${address}:${port}`, '-h', dir], { stdio: 'ignore' });
    this.add(async () => {
      proc.kill('SIGKILL');
      await new Promise((resolve) => (proc.exitCode !== null || proc.signalCode !== null ? resolve(undefined) : proc.once('exit', resolve)));
    });
    for (let i = 0; i < 50; i++) {
      const listening = await run('ip', ['netns', 'exec', ns, 'ss', '-Hltn', `sport = :${port}`]);
      if (listening.stdout.trim()) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`httpd in ${ns} did not listen on ${address}:${port}`);
  }

  guest(name: string, argv: string[], netns?: string, prefix: string[] = []): Guest {
    const guest = new Guest(name, argv, netns, prefix);
    this.add(() => guest.kill());
    return guest;
  }

  async cleanup(): Promise<void> {
    const errors: unknown[] = [];
    for (const fn of this.undo.splice(0).reverse()) {
      try {
        await fn();
      } catch (error) {
        errors.push(error);
      }
    }
    if (errors.length > 0) throw errors[0];
  }
}

/** What of ours is still on the host: namespaces, dnsmasq processes with a config under `stateRoot`, QEMUs of ours. */
export async function leftovers(options: { namespaces: readonly string[]; stateRoot?: string; netns?: string }): Promise<string[]> {
  const found: string[] = [];
  const existing = (await run('ip', ['netns', 'list'])).stdout;
  for (const ns of options.namespaces) if (new RegExp(`^${ns}\\b`, 'm').test(existing)) found.push(`namespace ${ns}`);
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = (await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '')).split('\0').join(' ');
    if (options.stateRoot && cmdline.includes('dnsmasq') && cmdline.includes(options.stateRoot)) found.push(`dnsmasq pid ${entry}`);
  }
  return found;
}

/** Bridges, taps and nft tables of ours inside a namespace that still exists. */
export async function netnsLeftovers(ns: string): Promise<string[]> {
  const found: string[] = [];
  const links = JSON.parse((await run('ip', ['-n', ns, '-j', '-d', 'link', 'show'])).stdout || '[]') as { ifname: string; ifalias?: string; linkinfo?: { info_kind?: string } }[];
  for (const link of links) {
    if (link.ifalias?.startsWith('virtdesk:') || link.linkinfo?.info_kind === 'bridge' || link.linkinfo?.info_kind === 'tun') found.push(`link ${link.ifname}`);
  }
  const tables = (await run('ip', ['netns', 'exec', ns, 'nft', 'list', 'tables'])).stdout;
  for (const line of tables.split('\n')) if (line.includes('virtdesk')) found.push(line.trim());
  return found;
}
