// The Virtdesk test guest: a tiny Linux (Debian cloud kernel + busybox-static)
// built by tests/guest/build.sh and cached under .cache/guest/<key>/.
// See tests/guest/README.md for what it does at boot.
import { spawn } from 'node:child_process';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface TestGuest {
  /** Cache folder holding all files below. */
  dir: string;
  /** Kernel for `-kernel`. */
  kernel: string;
  /** gzip'd newc cpio for `-initrd`. */
  initrd: string;
  /** BIOS-bootable GRUB ISO (3 s menu, then the same kernel, initrd and cmdline). */
  iso: string;
  /** Blank 64 MiB qcow2; copy it before attaching, never write to it. */
  blankQcow2: string;
  /** Kernel command line for `-append` (console=tty0 console=ttyS0,115200 ...). */
  cmdline: string;
  /** `uname -r` of the guest kernel, e.g. 6.1.0-56-cloud-amd64. */
  kernelVersion: string;
}

/**
 * The single line the guest prints on ttyS0 once it is ready; group 1 is `none`
 * or a comma-separated IPv4 list. Use it on complete lines: on a growing serial
 * buffer it can match a chunk that ends mid-line (`ip=1`), so match streams with
 * READY_LINE_IN_STREAM, which also needs the line end.
 */
export const READY_LINE = /VIRTDESK-READY ip=(\S+)/;
/** READY_LINE including its line end (`\r\n` on the serial port), safe on partial serial output. */
export const READY_LINE_IN_STREAM = /VIRTDESK-READY ip=(\S+)\r?\n/;
/** Prompt of the root shells on ttyS0 and tty1. */
export const SHELL_PROMPT = 'virtdesk-guest# ';
/** Text contained in the body of http://<guest>:80/. */
export const HTTP_BODY_TEXT = 'virtdesk-test-guest';

/**
 * Kernel arguments (added to `cmdline`) that make the guest ignore the ACPI power button, like a
 * guest busy installing updates or one without acpid: the kernel's button driver never loads, so
 * acpid never hears it. QEMU still sends POWERDOWN; the guest keeps running.
 */
export const IGNORE_ACPI_POWER_BUTTON = 'initcall_blacklist=acpi_button_driver_init module_blacklist=button';
/** The guest's HTTP port (forward it with `hostfwd=tcp:127.0.0.1:<port>-:80`). */
export const HTTP_PORT = 80;

/**
 * Disk marker: when a virtio disk /dev/vda is attached and its first sector is
 * all zeros (or already holds a marker), the guest writes, at boot and before
 * the ready line, the ASCII line `VIRTDESK-MARKER boot=<n> time=<unix seconds>\n`
 * at byte offset 0, zero-padded to 512 bytes. `n` is 1 on a blank disk and the
 * previous value + 1 otherwise; `time` is the guest clock (taken from the host
 * RTC). A disk with any other content in sector 0 is left untouched.
 */
export const MARKER_PREFIX = 'VIRTDESK-MARKER';
export const MARKER_OFFSET = 0;
export const MARKER_SIZE = 512;
export const MARKER_LINE = /^VIRTDESK-MARKER boot=(\d+) time=(\d+)\n/;

export interface GuestMarker {
  boot: number;
  time: number;
}

export const BUILD_SCRIPT = fileURLToPath(new URL('./build.sh', import.meta.url));

/** IPv4 addresses from a ready line (empty for `ip=none`), or null if `text` holds no ready line. */
export function parseReadyLine(text: string): string[] | null {
  const m = READY_LINE.exec(text);
  if (!m) return null;
  const ips = m[1] ?? 'none';
  return ips === 'none' ? [] : ips.split(',');
}

/** Parses the first sector of a raw disk (or the text of its first line). */
export function parseMarker(data: Uint8Array | string): GuestMarker | null {
  const text = typeof data === 'string' ? data : Buffer.from(data).toString('latin1');
  const m = MARKER_LINE.exec(text);
  if (!m) return null;
  return { boot: Number(m[1]), time: Number(m[2]) };
}

/**
 * Reads the marker from a disk image on the host (after the guest has powered
 * off). Non-raw images are read through `qemu-img dd`.
 */
export async function readMarker(image: string, format: 'qcow2' | 'raw' = 'qcow2'): Promise<GuestMarker | null> {
  if (format === 'raw') return parseMarker(await readHead(image));
  const tmp = await mkdtemp(path.join(tmpdir(), 'virtdesk-marker-'));
  try {
    const out = path.join(tmp, 'head.raw');
    await run('qemu-img', ['dd', '-f', format, '-O', 'raw', `bs=${MARKER_SIZE}`, 'count=1', `if=${image}`, `of=${out}`]);
    return parseMarker(await readHead(out));
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

async function readHead(file: string): Promise<Buffer> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(MARKER_SIZE);
    const { bytesRead } = await fh.read(buf, 0, MARKER_SIZE, MARKER_OFFSET);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

interface RunResult {
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], timeoutMs = 60_000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`${cmd} could not start: ${err.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve({ stdout, stderr });
      else
        reject(
          new Error(
            `${cmd} ${args.join(' ')} failed (${signal ?? `exit ${code}`}):\n${stderr.trim().split('\n').slice(-30).join('\n')}`,
          ),
        );
    });
  });
}

interface Manifest {
  kernelVersion: string;
  cmdline: string;
  files: { kernel: string; initrd: string; iso: string; blankQcow2: string };
}

let pending: Promise<TestGuest> | undefined;

/**
 * Builds the test guest if needed (first build ~15 s plus a ~28 MB download of
 * Debian packages; cached builds return in well under a second) and returns
 * absolute paths to its files. Runs build.sh at most once per process.
 */
export async function ensureTestGuest(): Promise<TestGuest> {
  pending ??= buildGuest().catch((err: unknown) => {
    pending = undefined; // let a later call retry
    throw err;
  });
  return pending;
}

async function buildGuest(): Promise<TestGuest> {
  const { stdout } = await run('bash', [BUILD_SCRIPT], 15 * 60_000);
  const dir = stdout.trim().split('\n').pop()?.trim();
  if (!dir || !path.isAbsolute(dir)) {
    throw new Error(`tests/guest/build.sh printed no output folder (stdout: ${JSON.stringify(stdout)})`);
  }
  const manifest = JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8')) as Manifest;
  return {
    dir,
    kernel: path.join(dir, manifest.files.kernel),
    initrd: path.join(dir, manifest.files.initrd),
    iso: path.join(dir, manifest.files.iso),
    blankQcow2: path.join(dir, manifest.files.blankQcow2),
    cmdline: manifest.cmdline,
    kernelVersion: manifest.kernelVersion,
  };
}
