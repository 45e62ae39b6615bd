// Guest data is private to its user (issue 18 item 11): the home, the pools Virtdesk makes, disk
// images, logs and saved states are 0700 / 0600, through the built CLI as a user runs it.
import { execFile } from 'node:child_process';
import { chmod, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureTestGuest, type TestGuest } from '../guest/guest';
import { createTempHome, type TempHome } from '../support/leaks';

const run = promisify(execFile);
const builtCli = fileURLToPath(new URL('../../dist/node/cli.cjs', import.meta.url));

let guest: TestGuest;
let home: TempHome;

beforeAll(async () => {
  guest = await ensureTestGuest();
  home = await createTempHome('vd-private-');
});
afterAll(async () => {
  await home?.cleanup();
});

async function cli(...argv: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, [builtCli, ...argv], { env: home.env });
  return stdout;
}

async function modeOf(path: string): Promise<string> {
  return ((await stat(path)).mode & 0o777).toString(8);
}

/** Every file and folder below `dir` with its mode, for a readable failure. */
async function modesBelow(dir: string): Promise<Record<string, string>> {
  const modes: Record<string, string> = {};
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isSocket() || entry.isSymbolicLink()) continue;
    const path = join(entry.parentPath, entry.name);
    modes[path.slice(dir.length + 1)] = await modeOf(path);
  }
  return modes;
}

describe('files Virtdesk makes are private to the user', () => {
  it('home 0700, pool folder 0700; image, vm.json, serial.log, qemu.log and the saved state 0600', async () => {
    // A home another tool left world-readable is closed on first use.
    await chmod(home.home, 0o755);
    await cli('image', 'create', 'private-disk', '--size', '64M');
    const disk = join(home.home, 'images', 'private-disk');
    await cli('vm', 'create', 'private', '--memory', '128', '--disk', disk, '--kernel', guest.kernel, '--initrd', guest.initrd, '--append', guest.cmdline, '--accel', 'tcg');
    await cli('vm', 'start', 'private');
    await cli('vm', 'save', 'private');

    expect(await modeOf(home.home)).toBe('700');
    const modes = await modesBelow(home.home);
    const vmDir = Object.keys(modes).find((path) => /^vms\/[^/]+$/.test(path))!;
    expect(modes).toMatchObject({
      images: '700',
      'images/private-disk': '600',
      vms: '700',
      [vmDir]: '700',
      [`${vmDir}/vm.json`]: '600',
      [`${vmDir}/serial.log`]: '600',
      [`${vmDir}/qemu.log`]: '600',
      [`${vmDir}/saved/memory.vmstate`]: '600',
    });
    const open = Object.entries(modes).filter(([, mode]) => !/^[67]00$/.test(mode));
    expect(open).toEqual([]);
    await cli('vm', 'start', 'private');
    await cli('vm', 'stop', 'private', '--force');
  });
});
