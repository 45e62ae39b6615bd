// Boots the test guest (tests/guest) under plain QEMU/TCG and checks what
// every other integration test relies on: the ready line, HTTP through a
// hostfwd, a shell on the serial line, ACPI power-off, the disk marker and
// the bootable ISO.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFile, mkdtemp, rm, stat } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  ensureTestGuest,
  HTTP_BODY_TEXT,
  parseReadyLine,
  readMarker,
  READY_LINE_IN_STREAM,
  SHELL_PROMPT,
  type TestGuest,
} from '../guest/guest';

const QEMU = 'qemu-system-x86_64';
const TEST_TIMEOUT = 90_000;

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** One QEMU process with its serial port on stdio and QMP on a unix socket. */
class Qemu {
  readonly proc: ChildProcess;
  readonly started = Date.now();
  readonly exited: Promise<Exit>;
  serial = '';
  stderr = '';
  private exit: Exit | undefined;
  private waiters = new Set<() => void>();

  constructor(
    readonly qmpPath: string,
    args: string[],
  ) {
    const argv = [
      '-accel', 'tcg', '-nodefaults', '-no-user-config', '-machine', 'q35', '-m', '256',
      '-display', 'none', '-serial', 'stdio', '-qmp', `unix:${qmpPath},server=on,wait=off`,
      ...args,
    ];
    this.proc = spawn(QEMU, argv, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc.stdout?.setEncoding('latin1').on('data', (d: string) => {
      this.serial += d;
      for (const w of this.waiters) w();
    });
    this.proc.stderr?.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    this.exited = new Promise((resolve) => {
      this.proc.on('exit', (code, signal) => {
        this.exit = { code, signal };
        for (const w of this.waiters) w();
        resolve(this.exit);
      });
      this.proc.on('error', (err) => {
        this.stderr += `spawn failed: ${err.message}`;
        this.exit = { code: null, signal: null };
        resolve(this.exit);
      });
    });
  }

  get running(): boolean {
    return this.exit === undefined;
  }

  /** Waits until the serial output after `from` matches `re`; returns the match and the offset after it. */
  waitForSerial(re: RegExp, timeoutMs: number, from = 0): Promise<{ match: RegExpExecArray; end: number }> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const tail = this.serial.slice(from);
        const match = re.exec(tail);
        if (match) {
          done();
          resolve({ match, end: from + match.index + match[0].length });
        } else if (this.exit) {
          done();
          reject(new Error(`QEMU exited (${JSON.stringify(this.exit)}) before ${re} appeared.\n${this.describe()}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${re} did not appear on serial within ${timeoutMs} ms.\n${this.describe()}`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  type(text: string): void {
    this.proc.stdin?.write(text);
  }

  async waitForExit(timeoutMs: number): Promise<Exit> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`QEMU did not exit within ${timeoutMs} ms.\n${this.describe()}`)),
        timeoutMs,
      );
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Runs one QMP command on a fresh connection (greeting, qmp_capabilities, command). */
  async qmp(execute: string, args?: Record<string, unknown>): Promise<unknown> {
    const sock = await connectUnix(this.qmpPath, 10_000);
    try {
      const lines = lineReader(sock);
      const next = async (): Promise<Record<string, unknown>> => {
        for (;;) {
          const msg = JSON.parse(await lines()) as Record<string, unknown>;
          if (!('event' in msg)) return msg;
        }
      };
      await next(); // greeting
      sock.write(JSON.stringify({ execute: 'qmp_capabilities' }) + '\n');
      const caps = await next();
      if ('error' in caps) throw new Error(`qmp_capabilities failed: ${JSON.stringify(caps.error)}`);
      sock.write(JSON.stringify(args ? { execute, arguments: args } : { execute }) + '\n');
      const reply = await next();
      if ('error' in reply) throw new Error(`QMP ${execute} failed: ${JSON.stringify(reply.error)}`);
      return reply.return;
    } finally {
      sock.destroy();
    }
  }

  async kill(): Promise<void> {
    if (this.running) this.proc.kill('SIGKILL');
    await this.exited;
  }

  describe(): string {
    const tail = (s: string): string => s.slice(-3000);
    return `--- serial (tail) ---\n${tail(this.serial)}\n--- qemu stderr ---\n${tail(this.stderr)}`;
  }
}

async function connectUnix(socketPath: string, timeoutMs: number): Promise<net.Socket> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await new Promise<net.Socket>((resolve, reject) => {
        const s = net.connect(socketPath);
        s.once('connect', () => resolve(s));
        s.once('error', reject);
      });
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`cannot connect to ${socketPath}: ${String(err)}`, { cause: err });
      await sleep(50);
    }
  }
}

function lineReader(sock: net.Socket): () => Promise<string> {
  let buf = '';
  const queue: string[] = [];
  let wake: (() => void) | undefined;
  let failure: Error | undefined;
  sock.setEncoding('utf8');
  sock.on('data', (d: string) => {
    buf += d;
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      queue.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
    wake?.();
  });
  sock.on('close', () => {
    failure = new Error('QMP connection closed');
    wake?.();
  });
  return async () => {
    while (queue.length === 0) {
      if (failure) throw failure;
      await new Promise<void>((r) => (wake = r));
    }
    return queue.shift() as string;
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

describe('test guest under QEMU (TCG)', () => {
  let guest: TestGuest;
  let tmp: string | undefined;
  const vms: Qemu[] = [];

  beforeAll(async () => {
    guest = await ensureTestGuest();
  }, 15 * 60_000);

  afterEach(async () => {
    await Promise.all(vms.splice(0).map((vm) => vm.kill()));
    if (tmp) await rm(tmp, { recursive: true, force: true });
    tmp = undefined;
  });

  async function launch(args: string[]): Promise<Qemu> {
    tmp ??= await mkdtemp(path.join(tmpdir(), 'virtdesk-guest-test-'));
    const vm = new Qemu(path.join(tmp, `qmp-${vms.length}.sock`), args);
    vms.push(vm);
    return vm;
  }

  function directBoot(): string[] {
    return ['-kernel', guest.kernel, '-initrd', guest.initrd, '-append', guest.cmdline];
  }

  async function powerOff(vm: Qemu): Promise<void> {
    await vm.qmp('system_powerdown');
    const exit = await vm.waitForExit(15_000);
    expect(exit).toEqual({ code: 0, signal: null });
  }

  it('boots, serves HTTP, runs typed commands, powers off on the ACPI button', { timeout: TEST_TIMEOUT }, async () => {
    const port = await freePort();
    const vm = await launch([
      ...directBoot(),
      '-netdev', `user,id=n0,hostfwd=tcp:127.0.0.1:${port}-:80`,
      '-device', 'virtio-net-pci,netdev=n0',
    ]);
    const ready = await vm.waitForSerial(READY_LINE_IN_STREAM, 20_000);
    console.log(`test guest ready after ${Date.now() - vm.started} ms: ${ready.match[0].trim()}`);
    expect(parseReadyLine(ready.match[0])).toEqual(['10.0.2.15']);
    expect(vm.serial.match(/VIRTDESK-READY/g)).toHaveLength(1);

    const res = await fetch(`http://127.0.0.1:${port}/`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain(HTTP_BODY_TEXT);

    const prompt = await vm.waitForSerial(new RegExp(SHELL_PROMPT), 10_000, ready.end);
    vm.type('echo hello-$((6*7))\n');
    const typed = await vm.waitForSerial(/echo hello-\$\(\(6\*7\)\)/, 10_000, prompt.end); // echoed back
    await vm.waitForSerial(/hello-42/, 10_000, typed.end); // and run

    await powerOff(vm);
    expect(vm.serial).toContain('power button pressed');
  });

  it('writes the boot marker to a blank virtio disk', { timeout: TEST_TIMEOUT }, async () => {
    tmp ??= await mkdtemp(path.join(tmpdir(), 'virtdesk-guest-test-'));
    const disk = path.join(tmp, 'disk.qcow2');
    await copyFile(guest.blankQcow2, disk);
    expect(await readMarker(disk)).toBeNull();
    const diskArgs = [
      '-blockdev', `driver=qcow2,node-name=disk0,file.driver=file,file.filename=${disk}`,
      '-device', 'virtio-blk-pci,drive=disk0',
    ];

    for (const boot of [1, 2]) {
      const before = Math.floor(Date.now() / 1000);
      const vm = await launch([...directBoot(), ...diskArgs]);
      const ready = await vm.waitForSerial(READY_LINE_IN_STREAM, 20_000);
      expect(parseReadyLine(ready.match[0])).toEqual([]);
      await powerOff(vm);
      const marker = await readMarker(disk);
      expect(marker?.boot).toBe(boot);
      expect(marker?.time).toBeGreaterThanOrEqual(before - 120);
      expect(marker?.time).toBeLessThanOrEqual(Math.floor(Date.now() / 1000) + 120);
    }
    expect((await stat(guest.blankQcow2)).size).toBeGreaterThan(0);
    expect(await readMarker(guest.blankQcow2)).toBeNull(); // the cached blank image stays blank
  });

  it('boots from the GRUB ISO on q35', { timeout: TEST_TIMEOUT }, async () => {
    const vm = await launch(['-cdrom', guest.iso, '-boot', 'order=d']);
    const ready = await vm.waitForSerial(READY_LINE_IN_STREAM, 60_000);
    console.log(`test guest ready from ISO after ${Date.now() - vm.started} ms`);
    expect(vm.serial.slice(0, ready.match.index)).toContain('Virtdesk test guest'); // the GRUB menu
    await powerOff(vm);
  });
});
