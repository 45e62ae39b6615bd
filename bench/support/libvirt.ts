import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chown, copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import type { VmDefinition } from '../../engine/model';

const run = promisify(execFile);

/** The libvirt connection: LIBVIRT_DEFAULT_URI, else the system daemon for root and the session daemon for others. */
export function libvirtUri(env: NodeJS.ProcessEnv = process.env): string {
  return env.LIBVIRT_DEFAULT_URI ?? (process.getuid?.() === 0 ? 'qemu:///system' : 'qemu:///session');
}

function onPath(command: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, command))) return join(dir, command);
  }
  return undefined;
}

export async function virsh(args: string[], timeoutMs = 60_000): Promise<string> {
  try {
    const { stdout } = await run('virsh', ['-c', libvirtUri(), ...args], { timeout: timeoutMs });
    return stdout;
  } catch (error) {
    // execFile's message is only the command line: say why (virsh's stderr, or the time limit).
    const failure = error as Error & { stderr?: string; killed?: boolean };
    const why = failure.killed ? `no answer within ${timeoutMs / 1000} s` : failure.stderr?.trim();
    if (why) failure.message = `virsh ${args.join(' ')}: ${why}`;
    throw failure;
  }
}

/** Why libvirt cannot be compared with here, or undefined when `virsh` reaches a daemon with the QEMU driver. */
export async function libvirtUnavailable(): Promise<string | undefined> {
  if (!onPath('virsh')) return 'libvirt is not installed (no virsh on PATH; apt-get install libvirt-daemon-system libvirt-clients)';
  try {
    await virsh(['version'], 15_000);
    return undefined;
  } catch (error) {
    const text = (error as { stderr?: string }).stderr?.trim() || (error as Error).message;
    return `libvirtd is not reachable at ${libvirtUri()} (${text.split('\n')[0]}); start virtlogd -d and libvirtd -d`;
  }
}

const escapeXml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/'/g, '&apos;').replace(/"/g, '&quot;');

const VIDEO: Record<VmDefinition['display']['video'], string | undefined> = { 'virtio-vga': 'virtio', std: 'vga', qxl: 'qxl', none: undefined };

export interface DomainFiles {
  kernel: string;
  initrd: string | undefined;
  vncSocket: string;
  serialSocket: string;
  serialLog: string;
}

/**
 * libvirt domain XML equivalent to what engine/qemu/argv builds for `def` (the devices the
 * benchmark guest has): TCG (`type='qemu'`), the same machine, CPU model, memory and vCPUs, direct
 * kernel boot, VNC with a password on a unix socket, the same video model, USB tablet, serial on a
 * unix socket with a log file, balloon and RNG. No disks or NICs (the benchmark VM has none).
 */
export function domainXml(name: string, def: VmDefinition, files: DomainFiles, vncPassword: string): string {
  if (!def.directKernel) throw new Error('the libvirt comparison boots a kernel directly');
  if (def.disks.length > 0 || def.nics.length > 0 || def.cdroms.length > 0) throw new Error('the libvirt comparison covers VMs without disks, CD-ROMs or NICs');
  const video = VIDEO[def.display.video];
  const devices = [
    `<emulator>/usr/bin/qemu-system-x86_64</emulator>`,
    def.display.usbTablet ? `<controller type='usb' model='qemu-xhci'/><input type='tablet' bus='usb'/>` : `<controller type='usb' model='none'/>`,
    def.display.vnc ? `<graphics type='vnc' passwd='${escapeXml(vncPassword)}'><listen type='socket' socket='${escapeXml(files.vncSocket)}'/></graphics>` : '',
    video ? `<video><model type='${video}'/></video>` : `<video><model type='none'/></video>`,
    def.serial
      ? `<serial type='unix'><source mode='bind' path='${escapeXml(files.serialSocket)}'/><log file='${escapeXml(files.serialLog)}' append='on'/></serial>`
      : '',
    def.balloon ? `<memballoon model='virtio'/>` : `<memballoon model='none'/>`,
    def.rng ? `<rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>` : '',
  ];
  return [
    `<domain type='qemu'>`,
    `  <name>${escapeXml(name)}</name>`,
    `  <memory unit='MiB'>${def.memory.maximumMiB}</memory>`,
    `  <currentMemory unit='MiB'>${def.memory.currentMiB}</currentMemory>`,
    `  <vcpu>${def.cpu.vcpus}</vcpu>`,
    `  <os>`,
    `    <type arch='x86_64' machine='${escapeXml(def.machine)}'>hvm</type>`,
    `    <kernel>${escapeXml(files.kernel)}</kernel>`,
    ...(files.initrd ? [`    <initrd>${escapeXml(files.initrd)}</initrd>`] : []),
    `    <cmdline>${escapeXml(def.directKernel.cmdline)}</cmdline>`,
    `  </os>`,
    `  <features><acpi/></features>`,
    // Virtdesk's "default" model under TCG is QEMU's `max`; libvirt's spelling of it.
    `  <cpu mode='maximum' migratable='off'/>`,
    `  <clock offset='utc'><timer name='rtc' tickpolicy='catchup'/></clock>`,
    `  <on_poweroff>destroy</on_poweroff>`,
    `  <on_reboot>restart</on_reboot>`,
    `  <on_crash>destroy</on_crash>`,
    `  <devices>`,
    ...devices.filter(Boolean).map((device) => `    ${device}`),
    `  </devices>`,
    `</domain>`,
    '',
  ].join('\n');
}

/** The user libvirt runs QEMU as (qemu.conf `user`, Debian's default libvirt-qemu), when it exists here. */
async function qemuUser(): Promise<{ uid: number; gid: number } | undefined> {
  const conf = await readFile('/etc/libvirt/qemu.conf', 'utf8').catch(() => '');
  const name = /^\s*user\s*=\s*"([^"]+)"/m.exec(conf)?.[1] ?? 'libvirt-qemu';
  const passwd = await readFile('/etc/passwd', 'utf8').catch(() => '');
  const entry = passwd.split('\n').find((line) => line.startsWith(`${name}:`));
  if (!entry) return undefined;
  const [, , uid, gid] = entry.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

export interface LibvirtDomain {
  name: string;
  vncSocket: string;
  serialLog: string;
  password: string;
  undefine(): Promise<void>;
}

/**
 * Defines a persistent domain for `def` in a folder QEMU (running as libvirt's QEMU user) can
 * create its sockets in, with its own copies of the kernel and initrd (libvirt relabels them).
 */
export async function defineDomain(def: VmDefinition): Promise<LibvirtDomain> {
  const dir = await mkdtemp(join(tmpdir(), 'vdbench-libvirt-'));
  const owner = process.getuid?.() === 0 && libvirtUri().startsWith('qemu:///system') ? await qemuUser() : undefined;
  if (owner) await chown(dir, owner.uid, owner.gid);
  const kernel = join(dir, 'vmlinuz');
  const sourceInitrd = def.directKernel?.initrd;
  const initrd = sourceInitrd ? join(dir, 'initrd.img') : undefined;
  await copyFile(def.directKernel!.kernel, kernel);
  if (sourceInitrd && initrd) await copyFile(sourceInitrd, initrd);
  const files: DomainFiles = { kernel, initrd, vncSocket: join(dir, 'vnc.sock'), serialSocket: join(dir, 'serial.sock'), serialLog: join(dir, 'serial.log') };
  const name = `vdbench-${def.id.slice(0, 8)}`;
  const password = 'bench123';
  const xmlFile = join(dir, 'domain.xml');
  await writeFile(xmlFile, domainXml(name, def, files, password));
  try {
    // libvirtd 9.0 here sometimes takes 80-90 s to define a domain (set-up, not measured).
    await virsh(['define', xmlFile], 300_000);
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    name,
    vncSocket: files.vncSocket,
    serialLog: files.serialLog,
    password,
    async undefine() {
      await virsh(['destroy', name]).catch(() => undefined);
      await virsh(['undefine', name]).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
