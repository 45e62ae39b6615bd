import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { EngineError } from '../../../engine/api/errors';
import { launchQemu } from '../../../engine/vm/runtime/launcher';
import { isAlive, waitForExit } from '../../../engine/vm/runtime/pidfile';
import { vmRuntimePaths, type VmRuntimePaths } from '../../../engine/vm/runtime/paths';
import { killProcessesUnder } from '../../support/leaks';

const FAKE = fileURLToPath(new URL('./fixtures/fake-qemu.mjs', import.meta.url));
const ID = '5e1f0d8c-2a47-4c59-8d3e-1b6f7a9c0e21';
const homes: string[] = [];
afterEach(async () => {
  for (const home of homes.splice(0)) {
    await killProcessesUnder(home);
    await rm(home, { recursive: true, force: true });
  }
});

async function setup(): Promise<{ home: string; binary: string; paths: VmRuntimePaths }> {
  const home = await mkdtemp(join(tmpdir(), 'vd-launch-'));
  homes.push(home);
  const binary = join(home, 'qemu-system-x86_64');
  await writeFile(binary, `#!/bin/sh\nexec "${process.execPath}" "${FAKE}" "$@"\n`);
  await chmod(binary, 0o755);
  return { home, binary, paths: vmRuntimePaths(home, ID, {}) };
}

function readLine(socketPath: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(socketPath);
    let data = '';
    socket.on('data', (chunk) => (data += chunk));
    socket.on('end', () => resolve(data.trim()));
    socket.on('error', reject);
  });
}

async function failureOf(promise: Promise<unknown>): Promise<EngineError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(EngineError);
    return error as EngineError;
  }
  throw new Error('expected a failure');
}

describe('launchQemu', () => {
  it('starts detached in its own session, waits for the socket and connects', async () => {
    const { binary, paths } = await setup();
    const args = ['-pidfile', paths.pidFile, '-fake-socket', paths.qmpCommandSocket];
    const result = await launchQemu({
      vmId: ID,
      vmName: 'web',
      binary,
      args,
      paths,
      env: { ...process.env, FAKE_QEMU_MODE: 'listen' },
      connect: () => readLine(paths.qmpCommandSocket),
    });
    expect(result.connection).toBe('{"hello":1}');
    expect(await isAlive(result.pid)).toBe(true);
    const stat = await readFile(`/proc/${result.pid}/stat`, 'latin1');
    const sessionId = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[3]);
    expect(sessionId).toBe(result.pid);
    expect(await readFile(paths.qemuLog, 'utf8')).toContain(`starting VM ${ID}: ${binary} -pidfile`);
    // A second launch while it runs is refused.
    const again = await failureOf(launchQemu({ vmId: ID, vmName: 'web', binary, args, paths, connect: async () => 0 }));
    expect(again.code).toBe('invalid-state');
    process.kill(result.pid, 'SIGKILL');
    expect(await waitForExit(result.pid, 5000)).toBe(true);
  });

  it("reports QEMU's own message when it refuses to start", async () => {
    const { binary, paths } = await setup();
    const error = await failureOf(
      launchQemu({
        vmId: ID,
        vmName: 'web',
        binary,
        args: ['-pidfile', paths.pidFile],
        paths,
        env: { ...process.env, FAKE_QEMU_MODE: 'refuse', FAKE_QEMU_MESSAGE: "qemu-system-x86_64: -machine q99: unsupported machine type 'q99'" },
        connect: async () => 0,
      }),
    );
    expect(error.code).toBe('qemu-error');
    expect(error.message).toBe(`QEMU refused to start VM "web": -machine q99: unsupported machine type 'q99'`);
  });

  it('explains an image lock held by another VM in plain words', async () => {
    const { binary, paths } = await setup();
    const error = await failureOf(
      launchQemu({
        vmId: ID,
        vmName: 'web',
        binary,
        args: [],
        paths,
        env: {
          ...process.env,
          FAKE_QEMU_MODE: 'refuse',
          FAKE_QEMU_MESSAGE: 'qemu-system-x86_64: -device {"driver":"virtio-blk-pci","drive":"d0"}: Failed to get "write" lock\nIs another process using the image [/images/web.qcow2]?',
        },
        connect: async () => 0,
      }),
    );
    expect(error.code).toBe('conflict');
    expect(error.message).toContain('its disk /images/web.qcow2 is already open in another running VM');
    expect(error.hint).toMatch(/Stop the VM that uses this disk/);
  });

  it('says how to install QEMU when the binary is missing', async () => {
    const { home, paths } = await setup();
    const error = await failureOf(launchQemu({ vmId: ID, vmName: 'web', binary: join(home, 'no-such-qemu'), args: [], paths, connect: async () => 0 }));
    expect(error.code).toBe('unavailable');
    expect(error.message).toMatch(/QEMU is not installed/);
    expect(error.hint).toMatch(/apt install qemu-system-x86/);
  });

  it('kills a QEMU that never opens its socket and reports a timeout', async () => {
    const { home, binary, paths } = await setup();
    const error = await failureOf(
      launchQemu({
        vmId: ID,
        vmName: 'web',
        binary,
        args: ['-pidfile', paths.pidFile],
        paths,
        timeoutMs: 800,
        env: { ...process.env, FAKE_QEMU_MODE: 'silent' },
        connect: async () => 0,
      }),
    );
    expect(error.code).toBe('timeout');
    expect(await killProcessesUnder(home)).toEqual([]);
  });
});
