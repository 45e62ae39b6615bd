import { execFile } from 'node:child_process';
import { symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVmDefinition } from '../../engine/model';
import { resolveHomeSpelling } from '../../engine/paths';
import { openVmStore } from '../../engine/vm/definitions/store';
import { ensureTestGuest, type TestGuest } from '../guest/guest';
import { createTempHome, findProcessesUnder, type TempHome } from '../support/leaks';

const run = promisify(execFile);
const builtCli = fileURLToPath(new URL('../../dist/node/cli.cjs', import.meta.url));

let guest: TestGuest;
let home: TempHome;

beforeAll(async () => {
  guest = await ensureTestGuest();
  home = await createTempHome('vd-home-spelling-');
});
afterAll(async () => {
  await home?.cleanup();
});

describe('one home through two spellings (a symlink)', () => {
  it('resolveHomeSpelling names the real folder, also for a home not created yet', async () => {
    const link = join(home.home, 'link');
    await symlink(home.home, link);
    const env: NodeJS.ProcessEnv = { VIRTDESK_HOME: `${link}/./sub/` };
    expect(resolveHomeSpelling(env)).toBe(join(home.home, 'sub'));
    expect(env.VIRTDESK_HOME).toBe(join(home.home, 'sub'));
  });

  it('a VM started through the symlink is running, refused a second start, and stopped through the real path', async () => {
    const real = join(home.home, 'data');
    const link = join(home.home, 'alias');
    const def = createVmDefinition({
      name: 'spelled',
      accelerator: 'tcg',
      memory: { maximumMiB: 128 },
      directKernel: { kernel: guest.kernel, initrd: guest.initrd, cmdline: guest.cmdline },
      nics: [],
    });
    await openVmStore(real).create(def);
    await symlink(real, link);
    const cli = (spelling: string, ...argv: string[]) =>
      run(process.execPath, [builtCli, ...argv], { env: { ...home.env, VIRTDESK_HOME: spelling } }).then(
        ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
        (error: { code: number; stdout: string; stderr: string }) => error,
      );

    expect((await cli(link, 'vm', 'start', 'spelled')).code).toBe(0);
    const shown = JSON.parse((await cli(real, 'vm', 'show', 'spelled', '--json')).stdout) as { runtime: { state: string; pid: number } };
    expect(shown.runtime.state).toBe('running');
    expect(await findProcessesUnder(home.home)).toEqual([shown.runtime.pid]);

    const again = await cli(real, 'vm', 'start', 'spelled');
    expect(again.stderr).toContain('it is running');
    expect(await findProcessesUnder(home.home)).toEqual([shown.runtime.pid]);

    expect((await cli(real, 'vm', 'stop', 'spelled', '--force')).code).toBe(0);
    expect(await findProcessesUnder(home.home)).toEqual([]);
    const after = JSON.parse((await cli(link, 'vm', 'show', 'spelled', '--json')).stdout) as { runtime: { state: string } };
    expect(after.runtime.state).toBe('stopped');
  });
});
