import { readFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { vmRuntimePaths, type VmRuntimePaths } from '../../engine/vm/runtime/paths';
import { READY_LINE_IN_STREAM, testGuestFiles } from './repo';
import type { ServeHost } from './serve-host';

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Creates a VM booting the test guest directly under TCG (no disk, no NIC) through serve's RPC. */
export async function createGuestVm(host: ServeHost, name: string, memoryMiB = 256): Promise<string> {
  const guest = await testGuestFiles();
  const details = await host.rpc.api.vms.create({
    input: {
      name,
      accelerator: 'tcg',
      memory: { maximumMiB: memoryMiB },
      directKernel: { kernel: guest.kernel, initrd: guest.initrd, cmdline: guest.cmdline },
      nics: [],
    },
  });
  return details.definition.id;
}

export function runtimePathsOf(host: ServeHost, id: string): VmRuntimePaths {
  return vmRuntimePaths(host.home, id, host.env);
}

async function fileSize(path: string): Promise<number> {
  return (await readFile(path).catch(() => Buffer.alloc(0))).length;
}

/** Waits for the guest's ready line in its serial log, past `fromOffset`. */
export async function waitForReady(serialLog: string, fromOffset: number, timeoutMs = 240_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = (await readFile(serialLog).catch(() => Buffer.alloc(0))).subarray(fromOffset).toString('utf8');
    if (READY_LINE_IN_STREAM.test(text)) return;
    if (Date.now() > deadline) throw new Error(`the guest printed no ready line within ${timeoutMs / 1000} s (${serialLog})`);
    await sleep(250);
  }
}

/**
 * Starts VMs through serve (as the UI's start button does) and waits until every guest is up.
 * At most `parallel` boot at once: TCG boots on two shared cores slow down badly when piled up.
 */
export async function startGuests(host: ServeHost, ids: readonly string[], parallel = 3): Promise<void> {
  const queue = [...ids];
  const startOne = async (id: string) => {
    const { serialLog } = runtimePathsOf(host, id);
    const offset = await fileSize(serialLog);
    await host.rpc.api.vms.start({ id });
    await waitForReady(serialLog, offset);
  };
  const worker = async () => {
    for (let id = queue.shift(); id !== undefined; id = queue.shift()) await startOne(id);
  };
  // The first start alone: it fills the host caches (QEMU probe, CPU model), and concurrent first
  // starts in one process can collide writing them (engine/host/cache-file.ts names its temp file
  // by pid and millisecond).
  const first = queue.shift();
  if (first !== undefined) await startOne(first);
  await Promise.all(Array.from({ length: Math.min(parallel, queue.length) }, worker));
}

function connectSocket(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(path, () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/**
 * The guest's root shell on its serial port: through the supervisor's serial multiplexer when
 * one listens (QEMU serves a single client on its own socket, and the supervisor holds that one),
 * else QEMU's socket.
 */
export class SerialShell {
  #output = '';
  #counter = 0;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => (this.#output += chunk.toString('latin1')));
  }

  static async open(paths: { runDir: string; serialSocket: string }): Promise<SerialShell> {
    const socket = await connectSocket(join(paths.runDir, 'serial-mux.sock')).catch(() => connectSocket(paths.serialSocket));
    return new SerialShell(socket);
  }

  /** Runs a command line and waits until the shell has finished it. */
  async run(command: string, timeoutMs = 30_000): Promise<void> {
    const marker = `__VDB_${++this.#counter}__`;
    const start = this.#output.length;
    // Split in the command so that the echoed line never contains the marker itself.
    // On its own line: the command may end in `&`.
    this.socket.write(`${command}\necho "__VDB_""${this.#counter}__"\n`);
    const deadline = Date.now() + timeoutMs;
    while (!this.#output.slice(start).includes(marker)) {
      if (Date.now() > deadline) throw new Error(`serial command timed out: ${command}\n${this.#output.slice(start)}`);
      await sleep(50);
    }
  }

  close(): void {
    this.socket.destroy();
  }
}
