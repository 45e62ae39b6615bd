// A full disk is answered as what failed, which disk, and what to do: never "internal error" with a
// stack trace (issue 18 item 12), and nothing half-written is left behind.
import { execFile } from 'node:child_process';
import { mkdir, open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toErrorInfo } from '../../engine/api/errors';
import { createVmDefinition } from '../../engine/model';
import { openVmStore } from '../../engine/vm/definitions/store';
import { ensureTestGuest, type TestGuest } from '../guest/guest';
import { createTempHome, type TempHome } from '../support/leaks';

const run = promisify(execFile);
const builtCli = fileURLToPath(new URL('../../dist/node/cli.cjs', import.meta.url));

let guest: TestGuest;
let home: TempHome;
let full: string;

/** Writes zeros into `dir` until its file system says ENOSPC. */
async function fillUp(dir: string): Promise<void> {
  const handle = await open(join(dir, 'filler'), 'w');
  const chunk = Buffer.alloc(64 * 1024);
  try {
    for (;;) await handle.write(chunk);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
  } finally {
    await handle.close();
  }
}

beforeAll(async () => {
  guest = await ensureTestGuest();
  home = await createTempHome('vd-disk-full-');
  full = join(home.home, 'full');
  await mkdir(full);
  await run('mount', ['-t', 'tmpfs', '-o', 'size=2m,mode=0700', 'tmpfs', full]);
});
afterAll(async () => {
  await run('umount', ['-l', full]).catch(() => undefined);
  await home?.cleanup();
});

describe('a full disk', () => {
  it('vm create and an edit say which disk is full and what to do, with no stack trace and no temp file left', async () => {
    const store = openVmStore(full);
    const def = createVmDefinition({ name: 'before', accelerator: 'tcg', memory: { maximumMiB: 128 }, directKernel: { kernel: guest.kernel, initrd: guest.initrd, cmdline: guest.cmdline }, nics: [] });
    await store.create(def);
    await fillUp(full);

    const created = await run(process.execPath, [builtCli, 'vm', 'create', 'after', '--memory', '128', '--kernel', guest.kernel, '--accel', 'tcg'], { env: { ...home.env, VIRTDESK_HOME: full } }).then(
      () => ({ code: 0, stderr: '' }),
      (error: { code: number; stderr: string }) => error,
    );
    expect(created.code).toBe(1);
    expect(created.stderr).toMatch(new RegExp(`the disk holding ${full}\\S* is full`));
    expect(created.stderr).toContain('Free some space on that disk');
    expect(created.stderr).not.toMatch(/internal error|\n\s+at /);

    const edit = store.update(def.id, () => ({ description: 'x'.repeat(4000) }));
    const info = toErrorInfo(await edit.then(() => undefined, (error: unknown) => error));
    expect(info.code).toBe('resource-exhausted');
    expect(info.message).toMatch(/the disk holding .* is full/);
    expect(info.message).not.toContain('Internal error');

    const leftovers = (await readdir(full, { recursive: true })).filter((entry) => entry.endsWith('.tmp') || entry.endsWith('.lock'));
    expect(leftovers).toEqual([]);
  });
});
