// A `virtdesk vm clone` killed mid-copy leaves no orphan image: the next look (vm list, the next
// clone, a host start) removes what the killed clone made and says so (issue 18 item 12).
import { execFile, spawn } from 'node:child_process';
import { access, open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureTestGuest, type TestGuest } from '../guest/guest';
import { createTempHome, type TempHome } from '../support/leaks';
import { waitFor } from '../support/vm-helpers';

const run = promisify(execFile);
const builtCli = fileURLToPath(new URL('../../dist/node/cli.cjs', import.meta.url));

let guest: TestGuest;
let home: TempHome;

beforeAll(async () => {
  guest = await ensureTestGuest();
  home = await createTempHome('vd-clone-killed-');
});
afterAll(async () => {
  await home?.cleanup();
});

const exists = (path: string) => access(path).then(() => true, () => false);
const cli = (...argv: string[]) =>
  run(process.execPath, [builtCli, ...argv], { env: home.env }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => error,
  );

describe('a clone killed mid-copy', () => {
  it('leaves no orphan image after the next vm list, and the same clone then works', async () => {
    // An image with data in every block, so copying it takes a moment.
    const raw = join(home.home, 'source.img');
    const disk = join(home.home, 'source.qcow2');
    const handle = await open(raw, 'w');
    const chunk = Buffer.alloc(4 * 1024 * 1024, 0x5a);
    for (let i = 0; i < 96; i++) await handle.write(chunk);
    await handle.close();
    await run('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', raw, disk]);
    expect((await cli('vm', 'create', 'source', '--memory', '128', '--disk', disk, '--kernel', guest.kernel, '--accel', 'tcg')).code).toBe(0);

    const target = join(home.home, 'copy.qcow2');
    for (let round = 0; round < 3; round++) {
      const child = spawn(process.execPath, [builtCli, 'vm', 'clone', 'source', 'copy'], { env: home.env, stdio: 'ignore' });
      const gone = new Promise((resolve) => child.once('exit', resolve));
      await waitFor('the clone to start copying', () => exists(target), 60_000, 2);
      child.kill('SIGKILL');
      await gone;
      const listed = await cli('vm', 'list');
      expect(listed.stdout).not.toContain('copy');
      expect(listed.stderr).toContain('A clone to "copy" was interrupted');
      expect(await exists(target)).toBe(false);
      expect(await readdir(join(home.home, 'cache', 'clones'))).toEqual([]);
    }
    const cloned = await cli('vm', 'clone', 'source', 'copy');
    expect(cloned.stderr).toBe('');
    expect(await exists(target)).toBe(true);
  });
});
