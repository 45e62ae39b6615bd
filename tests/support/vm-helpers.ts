import { copyFile, readFile, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { CliIo } from '../../engine/cli/command';
import { runCli } from '../../engine/cli/run-cli';
import type { CliCommand } from '../../engine/cli/command';
import type { VmDefinitionInput } from '../../engine/model';
import type { TestGuest } from '../guest/guest';

/** A TCP port that was free a moment ago (for hostfwd). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Polls `check` until it returns a value other than undefined/false. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 60_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** Waits for `pattern` in a serial log, looking only past `fromOffset` (logs are appended across runs). */
export async function waitForSerial(path: string, pattern: RegExp, timeoutMs = 90_000, fromOffset = 0): Promise<RegExpExecArray> {
  return waitFor(`${pattern} in ${path}`, async () => pattern.exec((await readFile(path).catch(() => Buffer.alloc(0))).subarray(fromOffset).toString('utf8')) ?? undefined, timeoutMs, 200);
}

/** The current size of a file (0 when missing): an offset for waitForSerial. */
export async function fileSize(path: string): Promise<number> {
  return stat(path).then((info) => info.size, () => 0);
}

/** A definition input that boots the test guest directly (TCG), with its own copy of the blank disk. */
export async function guestVmInput(guest: TestGuest, home: string, name: string, options: { hostPort?: number; memoryMiB?: number; disk?: string } = {}): Promise<VmDefinitionInput> {
  let disk = options.disk;
  if (disk === undefined) {
    disk = join(home, `${name}.qcow2`);
    await copyFile(guest.blankQcow2, disk);
  }
  return {
    name,
    accelerator: 'tcg',
    memory: { maximumMiB: options.memoryMiB ?? 192 },
    directKernel: { kernel: guest.kernel, initrd: guest.initrd, cmdline: guest.cmdline },
    disks: [{ source: disk }],
    nics: [{ network: { kind: 'user', portForwards: options.hostPort ? [{ hostPort: options.hostPort, guestPort: 80 }] : [] } }],
  };
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs CLI commands in-process with VIRTDESK_HOME from `env`. */
export function cliRunner(commands: readonly CliCommand[], env: NodeJS.ProcessEnv): (...argv: string[]) => Promise<CliResult> {
  return async (...argv) => {
    let stdout = '';
    let stderr = '';
    const io: CliIo = { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), env };
    const code = await runCli(argv, commands, io);
    return { code, stdout, stderr };
  };
}
