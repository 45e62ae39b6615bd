import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createServer, type AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVmCommands } from '../../engine/cli/vm-commands';
import { VmRegistry } from '../../engine/vm/definitions/registry';
import { ensureTestGuest, READY_LINE, SHELL_PROMPT, type TestGuest } from '../guest/guest';
import { assertNoLeftoverSockets, createTempHome, type TempHome } from '../support/leaks';
import { cliRunner, fileSize, guestVmInput, waitFor, waitForSerial, type CliResult } from '../support/vm-helpers';

let guest: TestGuest;
let home: TempHome;
let cli: (...argv: string[]) => Promise<CliResult>;
let registry: VmRegistry;
const input = new PassThrough();
const consoleOut: Buffer[] = [];

beforeAll(async () => {
  guest = await ensureTestGuest();
  home = await createTempHome('vd-vm-err-');
  cli = cliRunner(
    createVmCommands(() => ({ stdin: input, writeOut: (bytes) => void consoleOut.push(bytes) })),
    home.env,
  );
  registry = new VmRegistry(home.home, home.env);
});
afterAll(async () => {
  await home?.cleanup();
});

async function runtimeOf(name: string) {
  return JSON.parse((await cli('vm', 'show', name, '--json')).stdout).runtime as { state: string; pid: number | null; stateReason: string | null; serialLog: string };
}

describe('virtdesk vm: what QEMU refuses, said plainly', () => {
  it('reports QEMU refusing a disk that is not what its definition says, with QEMU’s message', async () => {
    const bogus = join(home.home, 'bogus.qcow2');
    await writeFile(bogus, Buffer.alloc(1024 * 1024, 7));
    await registry.create(await guestVmInput(guest, home.home, 'bogus', { disk: bogus }));
    const result = await cli('vm', 'start', 'bogus');
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/QEMU refused to start VM "bogus": -blockdev .*Image is not in qcow2 format/);
    expect(result.stderr).toContain('qemu.log');
    const runtime = await runtimeOf('bogus');
    expect(runtime.state).toBe('crashed');
    expect(runtime.stateReason).toMatch(/^QEMU failed to start: QEMU refused to start VM "bogus"/);
    await assertNoLeftoverSockets(home.home);
  });

  it('explains that a disk is already open in another running VM', async () => {
    const shared = join(home.home, 'shared.qcow2');
    await copyFile(guest.blankQcow2, shared);
    await registry.create(await guestVmInput(guest, home.home, 'owner', { disk: shared }));
    await registry.create(await guestVmInput(guest, home.home, 'intruder', { disk: shared }));
    expect((await cli('vm', 'start', 'owner')).code).toBe(0);
    const result = await cli('vm', 'start', 'intruder');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`VM "intruder" cannot start: its disk ${shared} is already open in another running VM (QEMU could not lock the image): VM "owner" has it open.`);
    expect(result.stderr).toContain('Stop the VM that uses this disk first');
    expect((await runtimeOf('owner')).state).toBe('running');
    expect((await cli('vm', 'stop', 'owner', '--force')).code).toBe(0);
  });

  it('names who holds a forwarded host port instead of letting QEMU fail on it', async () => {
    const server = createServer();
    const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
    try {
      await registry.create(await guestVmInput(guest, home.home, 'porty', { hostPort: port }));
      const result = await cli('vm', 'start', 'porty');
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`TCP port ${port} on 127.0.0.1 is already in use by`);
      expect(result.stderr).toContain(`${process.pid}`);
      expect((await runtimeOf('porty')).state).not.toBe('running');
    } finally {
      server.close();
    }
  });
});

describe('virtdesk vm: console, reboot and reset of a running guest', () => {
  it('attaches to the serial console, runs a command, detaches with Ctrl-]', async () => {
    await registry.create(await guestVmInput(guest, home.home, 'term'));
    const serialLog = (await runtimeOf('term')).serialLog;
    const offset = await fileSize(serialLog);
    expect((await cli('vm', 'start', 'term')).code).toBe(0);
    await waitForSerial(serialLog, READY_LINE, 90_000, offset);
    const attached = cli('vm', 'console', 'term');
    input.write('\n');
    await waitFor('the shell prompt on the console', () => Buffer.concat(consoleOut).toString('utf8').includes(SHELL_PROMPT), 20_000);
    input.write('echo console-$((6*7))\n');
    await waitFor('the command output', () => Buffer.concat(consoleOut).toString('utf8').includes('console-42'), 20_000);
    input.write(Buffer.from([0x1d]));
    const result = await attached;
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('Press Ctrl-] to detach.');
    expect(result.stderr).toContain('Detached.');
    expect((await runtimeOf('term')).state).toBe('running');
  });

  it('reboots through ACPI and resets, keeping the same QEMU', async () => {
    const before = await runtimeOf('term');
    let offset = await fileSize(before.serialLog);
    const rebooted = await cli('vm', 'reboot', 'term');
    expect(rebooted.stderr).toBe('');
    expect(rebooted.stdout).toBe('VM "term" rebooted.\n');
    await waitForSerial(before.serialLog, READY_LINE, 90_000, offset);
    expect(await readFile(before.serialLog, 'utf8')).toContain('power button pressed');
    let now = await runtimeOf('term');
    expect(now).toMatchObject({ state: 'running', pid: before.pid });

    offset = await fileSize(before.serialLog);
    expect((await cli('vm', 'reset', 'term')).stdout).toBe('VM "term" was reset.\n');
    await waitForSerial(before.serialLog, READY_LINE, 90_000, offset);
    now = await runtimeOf('term');
    expect(now).toMatchObject({ state: 'running', pid: before.pid });
    expect((await cli('vm', 'stop', 'term', '--force')).code).toBe(0);
  });
});
