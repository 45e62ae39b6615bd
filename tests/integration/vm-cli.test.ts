import { copyFile, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVmCommands } from '../../engine/cli/vm-commands';
import { findRunningQemu, waitForExit } from '../../engine/vm/runtime/pidfile';
import { vmRuntimePaths } from '../../engine/vm/runtime/paths';
import { ensureTestGuest, HTTP_BODY_TEXT, READY_LINE, type TestGuest } from '../guest/guest';
import { assertNoLeftoverSockets, createTempHome, type TempHome } from '../support/leaks';
import { decodePng, distinctColours } from '../support/png';
import { cliRunner, freePort, waitFor, waitForSerial, type CliResult } from '../support/vm-helpers';

let guest: TestGuest;
let home: TempHome;
let cli: (...argv: string[]) => Promise<CliResult>;

beforeAll(async () => {
  guest = await ensureTestGuest();
  home = await createTempHome('vd-vm-cli-');
  cli = cliRunner(createVmCommands(), home.env);
});
afterAll(async () => {
  await home?.cleanup();
});

async function show(name: string) {
  const result = await cli('vm', 'show', name, '--json');
  expect(result.stderr).toBe('');
  return JSON.parse(result.stdout) as { definition: { id: string }; runtime: { state: string; pid: number | null; stateReason: string | null; serialLog: string } };
}

describe('virtdesk vm: the test guest through its whole life', () => {
  it('create → start → ready → HTTP → screenshot → pause/resume → ACPI stop → start → force stop', async () => {
    const port = await freePort();
    const disk = join(home.home, 'guest.qcow2');
    await copyFile(guest.blankQcow2, disk);
    const created = await cli('vm', 'create', 'guest', '--memory', '192', '--disk', disk, '--kernel', guest.kernel, '--initrd', guest.initrd, '--append', guest.cmdline, '--port-forward', `tcp:${port}:80`, '--accel', 'tcg');
    expect(created.stderr).toBe('');
    expect(created.stdout).toMatch(/^Created VM "guest"/);

    const started = await cli('vm', 'start', 'guest');
    expect(started.stderr).toBe('');
    expect(started.stdout).toMatch(/Started VM "guest" \(QEMU pid \d+; TCG/);
    const first = await show('guest');
    expect(first.runtime.state).toBe('running');
    const pid = first.runtime.pid!;
    expect(await findRunningQemu(vmRuntimePaths(home.home, first.definition.id, home.env))).toBe(pid);

    // Start of a running VM is refused and changes nothing.
    const again = await cli('vm', 'start', 'guest');
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('Cannot start VM "guest": it is running.');
    expect((await show('guest')).runtime.pid).toBe(pid);

    await waitForSerial(first.runtime.serialLog, READY_LINE);
    const log = await cli('vm', 'log', 'guest');
    expect(log.stdout).toMatch(READY_LINE);

    const body = await waitFor('HTTP through the port forward', async () => {
      try {
        const response = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(5000) });
        return response.ok ? await response.text() : undefined;
      } catch {
        return undefined;
      }
    });
    expect(body).toContain(HTTP_BODY_TEXT);

    const png = join(home.home, 'screen.png');
    const shot = await cli('vm', 'screenshot', 'guest', png);
    expect(shot.stderr).toBe('');
    const image = decodePng(await readFile(png));
    expect(image.width).toBeGreaterThanOrEqual(640);
    expect(distinctColours(image)).toBeGreaterThan(1);

    expect((await cli('vm', 'pause', 'guest')).code).toBe(0);
    expect((await show('guest')).runtime.state).toBe('paused');
    expect((await cli('vm', 'pause', 'guest')).stderr).toContain('Cannot pause VM "guest": it is paused.');
    expect((await cli('vm', 'resume', 'guest')).code).toBe(0);
    expect((await show('guest')).runtime.state).toBe('running');

    const stopped = await cli('vm', 'stop', 'guest', '--wait', '90');
    expect(stopped.stderr).toContain('Asking the guest of "guest" to shut down');
    expect(stopped.stdout).toBe('VM "guest" shut down.\n');
    expect(await waitForExit(pid, 1000)).toBe(true);
    const after = await show('guest');
    expect(after.runtime).toMatchObject({ state: 'stopped', pid: null, stateReason: 'shut down by the user' });
    expect((await cli('vm', 'stop', 'guest')).stderr).toContain('Cannot stop VM "guest": it is stopped.');
    // The guest really powered off through ACPI: its acpid handler logs before poweroff.
    expect(await readFile(first.runtime.serialLog, 'utf8')).toContain('power button pressed, powering off');

    expect((await cli('vm', 'start', 'guest')).code).toBe(0);
    const second = await show('guest');
    expect(second.runtime.state).toBe('running');
    const forced = await cli('vm', 'stop', 'guest', '--force');
    expect(forced.stdout).toBe('VM "guest" was forced off.\n');
    expect(await waitForExit(second.runtime.pid!, 1000)).toBe(true);
    expect((await show('guest')).runtime).toMatchObject({ state: 'stopped', stateReason: 'forced off by the user' });
    await assertNoLeftoverSockets(home.home);

    const deleted = await cli('vm', 'delete', 'guest', '--with-storage');
    expect(deleted.stdout).toContain(`removed ${disk}`);
    await expect(stat(disk)).rejects.toThrow();
  });
});
