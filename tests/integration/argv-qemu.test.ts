// Proves the golden command lines are real: every case runs through qemu-system-x86_64 (paused
// by -S), answers QMP, and quits cleanly. Catches options QEMU 7.2 rejects.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createVmDefinition, type VmDefinition } from '../../engine/model';
import { buildQemuArgv, type NicBackend, type ResolvedFirmware } from '../../engine/qemu/argv';
import { goldenArgvInput, goldenDevices, goldenRuntimePaths, loadGoldenCases, type GoldenCase } from '../golden/argv/golden-cases';
import { ensureTestGuest, HTTP_BODY_TEXT, HTTP_PORT, parseReadyLine, readMarker, type TestGuest } from '../guest/guest';

const run = promisify(execFile);
const QEMU = 'qemu-system-x86_64';

let root: string;
let guest: TestGuest;
let running: ChildProcess | undefined;
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  // Short: unix socket paths must stay under 108 bytes.
  root = await mkdtemp(join(tmpdir(), 'vdargv-'));
  guest = await ensureTestGuest();
});

afterEach(async () => {
  if (running && running.exitCode === null && running.signalCode === null) {
    running.kill('SIGKILL');
    await new Promise((resolve) => running?.once('exit', resolve));
  }
  running = undefined;
  while (cleanups.length > 0) await cleanups.pop()!().catch(() => undefined);
});

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

/** OVMF's NVRAM template for a code file, from the firmware descriptors. */
async function varsTemplateFor(code: string): Promise<string | undefined> {
  const dir = '/usr/share/qemu/firmware';
  for (const file of await readdir(dir).catch(() => [] as string[])) {
    const descriptor = JSON.parse(await readFile(join(dir, file), 'utf8')) as { mapping?: { executable?: { filename?: string }; 'nvram-template'?: { filename?: string } } };
    if (descriptor.mapping?.executable?.filename === code) return descriptor.mapping['nvram-template']?.filename;
  }
  return undefined;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** A stand-in for qemu-bridge-helper (whose ACL lives in /etc): opens a tap and passes its fd back. */
const FAKE_BRIDGE_HELPER = `#!/usr/bin/env python3
import fcntl, os, socket, struct, sys
args = dict(a[2:].split('=', 1) for a in sys.argv[1:] if '=' in a)
fd = os.open('/dev/net/tun', os.O_RDWR)
flags = 0x0002 | 0x1000 | (0x4000 if '--use-vnet' in sys.argv else 0)  # IFF_TAP | IFF_NO_PI | IFF_VNET_HDR
fcntl.ioctl(fd, 0x400454ca, struct.pack('16sH', os.environ['VD_TAP'].encode(), flags))  # TUNSETIFF
sock = socket.socket(fileno=int(args['fd']))
socket.send_fds(sock, [b'\\0'], [fd])
`;

let tapCounter = 0;
async function makeTap(): Promise<string> {
  const name = `vdat${process.pid % 10000}${tapCounter++}`;
  await run('ip', ['tuntap', 'add', 'dev', name, 'mode', 'tap']);
  cleanups.push(() => run('ip', ['link', 'del', name]));
  return name;
}

interface Prepared {
  definition: VmDefinition;
  firmware?: ResolvedFirmware;
  nicBackends?: Record<string, NicBackend>;
  env: NodeJS.ProcessEnv;
  accel: 'kvm' | 'tcg';
  skip?: string;
}

/** Real files for every path in a case: images via qemu-img, the test guest's kernel, OVMF, taps. */
async function prepare(goldenCase: GoldenCase, dir: string): Promise<Prepared> {
  const { spec } = goldenCase;
  const definition = structuredClone(createVmDefinition(spec.definition));
  for (const disk of definition.disks) {
    disk.source = join(dir, `${disk.id}.${disk.format}`);
    await run('qemu-img', ['create', '-q', '-f', disk.format, disk.source, '16M']);
  }
  for (const cdrom of definition.cdroms) {
    if (cdrom.media !== null) cdrom.media = guest.iso;
  }
  if (definition.directKernel) {
    definition.directKernel.kernel = guest.kernel;
    if (definition.directKernel.initrd !== null) definition.directKernel.initrd = guest.initrd;
  }
  for (const nic of definition.nics) {
    if (nic.network.kind !== 'user') continue;
    for (const forward of nic.network.portForwards) forward.hostPort = await freePort();
  }

  const prepared: Prepared = { definition, env: { ...process.env }, accel: spec.accel };
  if (spec.accel === 'kvm') {
    const kvm = await stat('/dev/kvm').catch(() => undefined);
    if (!kvm) prepared.accel = 'tcg';
  }
  if (spec.firmware) {
    const template = await varsTemplateFor(spec.firmware.code);
    if (template === undefined) return { ...prepared, skip: `OVMF ${spec.firmware.code} is not installed` };
    const varsFile = join(dir, 'OVMF_VARS.fd');
    await copyFile(template, varsFile);
    prepared.firmware = { ...spec.firmware, varsFile };
  }
  if (spec.nicBackends) {
    prepared.nicBackends = {};
    for (const [nicId, backend] of Object.entries(spec.nicBackends)) {
      if (backend.type === 'dgram-unix') {
        prepared.nicBackends[nicId] = { type: 'dgram-unix', localPath: join(dir, `${nicId}.l.sock`), remotePath: join(dir, `${nicId}.r.sock`) };
      } else {
        let tap: string;
        try {
          tap = await makeTap();
        } catch (error) {
          return { ...prepared, skip: `cannot create a tap interface here: ${String(error)}` };
        }
        if (backend.type === 'tap') {
          prepared.nicBackends[nicId] = { type: 'tap', ifname: tap };
        } else {
          const helper = join(dir, 'bridge-helper.py');
          await writeFile(helper, FAKE_BRIDGE_HELPER, { mode: 0o755 });
          prepared.nicBackends[nicId] = { ...backend, helper };
          prepared.env.VD_TAP = tap;
        }
      }
    }
  }
  return prepared;
}

/** Just enough QMP: greeting, capabilities, commands answered in order (events skipped). */
class MiniQmp {
  private buffer = '';
  private readonly waiting: { resolve: (message: Record<string, unknown>) => void; reject: (error: Error) => void }[] = [];
  private readonly queue: Record<string, unknown>[] = [];
  private closed = false;

  private constructor(private readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.buffer += chunk;
      let newline: number;
      while ((newline = this.buffer.indexOf('\n')) >= 0) {
        const line = this.buffer.slice(0, newline).trim();
        this.buffer = this.buffer.slice(newline + 1);
        if (line === '') continue;
        const message = JSON.parse(line) as Record<string, unknown>;
        if ('event' in message) continue;
        const next = this.waiting.shift();
        if (next) next.resolve(message);
        else this.queue.push(message);
      }
    });
    socket.on('close', () => {
      this.closed = true;
      for (const waiter of this.waiting.splice(0)) waiter.reject(new Error('QEMU closed the QMP connection'));
    });
  }

  static async open(path: string): Promise<{ qmp: MiniQmp; greeting: Record<string, unknown> }> {
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = connect(path, () => resolve(s));
      s.once('error', reject);
    });
    const qmp = new MiniQmp(socket);
    const greeting = await qmp.next();
    return { qmp, greeting };
  }

  private next(): Promise<Record<string, unknown>> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    if (this.closed) return Promise.reject(new Error('QEMU closed the QMP connection'));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('QMP timed out')), 30_000);
      this.waiting.push({
        resolve: (message) => {
          clearTimeout(timer);
          resolve(message);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
    });
  }

  async execute(command: string, args?: Record<string, unknown>): Promise<unknown> {
    this.socket.write(JSON.stringify(args ? { execute: command, arguments: args } : { execute: command }) + '\n');
    const reply = await this.next();
    if ('error' in reply) throw new Error(`${command}: ${JSON.stringify(reply.error)}`);
    return reply.return;
  }

  close(): void {
    this.socket.destroy();
  }
}

async function waitForSocket(path: string, child: ChildProcess, stderr: () => string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`QEMU exited (${child.exitCode ?? child.signalCode}) before QMP was up:\n${stderr()}`);
    }
    // The file appears at bind(), a moment before listen(): only a connection proves it is up.
    if ((await stat(path).catch(() => undefined))?.isSocket() && (await canConnect(path))) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`QMP socket ${path} did not appear within 60 s:\n${stderr()}`);
}

function canConnect(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path, () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function tcpConnects(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: host === '0.0.0.0' ? '127.0.0.1' : host }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Warnings about this host rather than the command line: more vCPUs than host cores under KVM, an
 * AMD host CPU without topoext for threads>1, and named CPU models under TCG lacking features.
 */
const HOST_WARNINGS = [/exceeds the recommended cpus supported by KVM/, /CPU doesn't support hyperthreading/, /TCG doesn't support requested feature/];

const cases = loadGoldenCases();

describe('golden argv under real QEMU', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s is accepted by QEMU', async (name, goldenCase) => {
    const dir = join(root, name.slice(0, 2));
    await mkdir(join(dir, 'run'), { recursive: true, mode: 0o700 });
    const prepared = await prepare(goldenCase, dir);
    if (prepared.skip) {
      console.warn(`skipping ${name}: ${prepared.skip}`);
      return;
    }
    const paths = goldenRuntimePaths(join(dir, 'run'), dir);
    const argv = buildQemuArgv({
      ...goldenArgvInput(goldenCase.spec, prepared.definition, paths),
      accel: prepared.accel,
      ...(prepared.firmware ? { firmware: prepared.firmware } : {}),
      ...(prepared.nicBackends ? { nicBackends: prepared.nicBackends } : {}),
    });

    let stderr = '';
    const child = spawn(QEMU, argv, { stdio: ['ignore', 'ignore', 'pipe'], env: prepared.env });
    running = child;
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));

    await waitForSocket(paths.qmpSocket, child, () => stderr);
    const { qmp, greeting } = await MiniQmp.open(paths.qmpSocket);
    const exited = new Promise<number | null>((resolve) => {
      if (child.exitCode !== null) resolve(child.exitCode);
      else child.once('exit', (code) => resolve(code));
    });
    try {
      expect(greeting).toHaveProperty('QMP.version.qemu.major');
      await qmp.execute('qmp_capabilities');
      expect(await qmp.execute('query-status')).toMatchObject({ status: 'prelaunch', running: false });

      const def = prepared.definition;
      expect((await stat(paths.pidFile)).isFile()).toBe(true);
      expect(Number((await readFile(paths.pidFile, 'utf8')).trim())).toBe(child.pid);
      if (paths.qmpCommandSocket) expect((await stat(paths.qmpCommandSocket)).isSocket()).toBe(true);
      expect(Boolean((await stat(paths.vncSocket).catch(() => undefined))?.isSocket())).toBe(def.display.vnc);
      expect(Boolean((await stat(paths.serialSocket).catch(() => undefined))?.isSocket())).toBe(def.serial);
      for (const nic of def.nics) {
        if (nic.network.kind !== 'user') continue;
        for (const forward of nic.network.portForwards.filter((f) => f.protocol === 'tcp')) {
          expect(await tcpConnects(forward.hostPort, forward.hostAddress), `hostfwd ${forward.hostPort}`).toBe(true);
        }
      }

      // Every device id we asked for exists (QEMU did not silently drop or rename one).
      const peripherals = (await qmp.execute('qom-list', { path: '/machine/peripheral' })) as { name: string }[];
      const ids = argv.flatMap((arg, i) => (argv[i - 1] === '-device' ? [String((JSON.parse(arg) as { id?: string }).id)] : []));
      expect(peripherals.map((p) => p.name)).toEqual(expect.arrayContaining(ids));

      await qmp.execute('quit');
    } catch (error) {
      // QEMU opens QMP before it creates devices, so a refused option shows up here: say what QEMU said.
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 2_000))]);
      throw new Error(`${error instanceof Error ? error.message : String(error)}\nQEMU stderr:\n${stderr}`, { cause: error });
    } finally {
      qmp.close();
    }
    expect(await exited).toBe(0);
    const warnings = stderr.split('\n').filter((line) => /warning|error/i.test(line) && !HOST_WARNINGS.some((known) => known.test(line)));
    expect(warnings, stderr).toEqual([]);
  });
});

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

describe('a built argv runs a guest', () => {
  it('boots the test guest: serial log via logfile=, HTTP through hostfwd, writes to the virtio disk', async () => {
    const dir = join(root, 'boot');
    await mkdir(join(dir, 'run'), { recursive: true, mode: 0o700 });
    const image = join(dir, 'disk0.qcow2');
    await copyFile(guest.blankQcow2, image);
    const hostPort = await freePort();
    const definition = createVmDefinition({
      name: 'argv-boot',
      accelerator: 'tcg',
      memory: { maximumMiB: 256 },
      directKernel: { kernel: guest.kernel, initrd: guest.initrd, cmdline: guest.cmdline },
      disks: [{ source: image }],
      nics: [{ network: { kind: 'user', portForwards: [{ hostPort, guestPort: HTTP_PORT }] } }],
    });
    const paths = goldenRuntimePaths(join(dir, 'run'), dir);
    const argv = buildQemuArgv({ definition, accel: 'tcg', cpuModel: 'max', paths, caps: { devices: goldenDevices() } });

    let stderr = '';
    const child = spawn(QEMU, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
    running = child;
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    await waitForSocket(paths.qmpSocket, child, () => stderr);
    const { qmp } = await MiniQmp.open(paths.qmpSocket);
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      await qmp.execute('qmp_capabilities');
      await qmp.execute('cont');
      // Nobody is attached to the serial socket: QEMU's own logfile must still get the output.
      const ips = await waitFor('the ready line in serial.log', async () => parseReadyLine(await readFile(paths.serialLog, 'utf8').catch(() => '')) ?? undefined, 90_000);
      expect(ips.length).toBeGreaterThan(0);
      const body = await waitFor(
        'HTTP through the port forward',
        async () => {
          const response = await fetch(`http://127.0.0.1:${hostPort}/`).catch(() => undefined);
          return response?.ok ? await response.text() : undefined;
        },
        30_000,
      );
      expect(body).toContain(HTTP_BODY_TEXT);
      await qmp.execute('quit');
    } catch (error) {
      throw new Error(`${error instanceof Error ? error.message : String(error)}\nQEMU stderr:\n${stderr}`, { cause: error });
    } finally {
      qmp.close();
    }
    expect(await exited).toBe(0);
    expect(await readMarker(image, 'qcow2')).toMatchObject({ boot: 1 });
  });
});
