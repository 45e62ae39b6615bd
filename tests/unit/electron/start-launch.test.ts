import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { electronBinary, electronEnvironment, sandboxProblem, suidHelperReady, usernsRestriction } from '../../../scripts/electron-launch.mjs';

const run = promisify(execFile);
const startScript = fileURLToPath(new URL('../../../scripts/start.mjs', import.meta.url));
const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vd-start-launch-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A /proc with just the user-namespace settings given. */
async function fakeProc(settings: Record<string, string>): Promise<string> {
  const proc = await mkdtemp(join(dir, 'proc-'));
  for (const [file, value] of Object.entries(settings)) {
    await mkdir(join(proc, file, '..'), { recursive: true });
    await writeFile(join(proc, file), `${value}\n`);
  }
  return proc;
}

const helperStat = (uid: number, mode: number) => () => ({ uid, mode: 0o100000 | mode });

describe('npm start: the environment Electron gets', () => {
  it('drops ELECTRON_RUN_AS_NODE and keeps everything else, without touching the original', () => {
    const env = { ELECTRON_RUN_AS_NODE: '1', DISPLAY: ':0', VIRTDESK_HOME: '/tmp/h' };
    expect(electronEnvironment(env)).toEqual({ DISPLAY: ':0', VIRTDESK_HOME: '/tmp/h' });
    expect(env.ELECTRON_RUN_AS_NODE).toBe('1');
  });

  it('starts Electron on the checkout without ELECTRON_RUN_AS_NODE even when the caller has it set', async () => {
    const out = join(dir, 'electron-saw.txt');
    const fake = join(dir, 'electron');
    await writeFile(fake, `#!/bin/sh\n{ echo "args: $*"; env; } > '${out}'\n`);
    await chmod(fake, 0o755);
    const env = { PATH: process.env.PATH, HOME: dir, VIRTDESK_ELECTRON: fake, DISPLAY: ':99', ELECTRON_RUN_AS_NODE: '1', VIRTDESK_HOME: join(dir, 'home') };
    await run(process.execPath, [startScript], { env, timeout: 20_000 });
    const seen = await readFile(out, 'utf8');
    expect(seen).toContain(`args: ${repoRoot.replace(/\/$/, '')}`);
    expect(seen).toContain('DISPLAY=:99');
    expect(seen).not.toMatch(/^ELECTRON_RUN_AS_NODE=/m);
  });

  it('finds the binary named by VIRTDESK_ELECTRON, and says when it is missing', () => {
    expect(electronBinary({ VIRTDESK_ELECTRON: process.execPath })).toEqual({ ok: true, binary: process.execPath });
    expect(electronBinary({ VIRTDESK_ELECTRON: '/nonexistent/electron' })).toEqual({ ok: false, why: 'VIRTDESK_ELECTRON names /nonexistent/electron, which does not exist' });
    expect(electronBinary({}, join(dir, 'no-electron-package'))).toMatchObject({ ok: false, why: expect.stringContaining('not downloaded') });
  });
});

describe("npm start: why Chromium's sandbox would abort", () => {
  it('reads the three kernel settings that keep unprivileged processes from user namespaces', async () => {
    expect(usernsRestriction(await fakeProc({}))).toBeUndefined();
    expect(usernsRestriction(await fakeProc({ 'sys/kernel/apparmor_restrict_unprivileged_userns': '0', 'sys/user/max_user_namespaces': '63000' }))).toBeUndefined();
    expect(usernsRestriction(await fakeProc({ 'sys/kernel/apparmor_restrict_unprivileged_userns': '1' }))).toMatch(/^kernel\.apparmor_restrict_unprivileged_userns = 1/);
    expect(usernsRestriction(await fakeProc({ 'sys/kernel/unprivileged_userns_clone': '0' }))).toBe('kernel.unprivileged_userns_clone = 0');
    expect(usernsRestriction(await fakeProc({ 'sys/user/max_user_namespaces': '0' }))).toBe('user.max_user_namespaces = 0');
  });

  it('accepts the setuid helper only when root owns it with the set-uid bit', () => {
    expect(suidHelperReady('/x/chrome-sandbox', helperStat(0, 0o4755))).toBe(true);
    expect(suidHelperReady('/x/chrome-sandbox', helperStat(0, 0o755))).toBe(false);
    expect(suidHelperReady('/x/chrome-sandbox', helperStat(1000, 0o4755))).toBe(false);
    expect(suidHelperReady(join(dir, 'missing'))).toBe(false);
  });

  it('on Ubuntu 24.04 with the helper as npm installed it, names the setting and gives the one command that fixes it', async () => {
    const procRoot = await fakeProc({ 'sys/kernel/apparmor_restrict_unprivileged_userns': '1' });
    const binary = '/home/me/virtdesk/node_modules/electron/dist/electron';
    const problem = sandboxProblem(binary, { procRoot, stat: helperStat(1000, 0o755), uid: 1000 });
    expect(problem).toContain('kernel.apparmor_restrict_unprivileged_userns = 1');
    expect(problem).toContain(
      "sudo chown root:root '/home/me/virtdesk/node_modules/electron/dist/chrome-sandbox' && sudo chmod 4755 '/home/me/virtdesk/node_modules/electron/dist/chrome-sandbox'",
    );
    expect(problem).toContain('.deb');
    // Fixed helper, or no restriction: nothing to say.
    expect(sandboxProblem(binary, { procRoot, stat: helperStat(0, 0o4755), uid: 1000 })).toBeUndefined();
    expect(sandboxProblem(binary, { procRoot: await fakeProc({}), stat: helperStat(1000, 0o755), uid: 1000 })).toBeUndefined();
  });

  it('quotes a checkout path with a quote in it so the command still works in a shell', async () => {
    const procRoot = await fakeProc({ 'sys/kernel/apparmor_restrict_unprivileged_userns': '1' });
    const problem = sandboxProblem("/home/o'brien/vd/node_modules/electron/dist/electron", { procRoot, stat: helperStat(1000, 0o755), uid: 1000 })!;
    const command = /sudo chown root:root (.*) && sudo chmod 4755 (.*?)\. /.exec(problem)!;
    const { stdout } = await run('sh', ['-c', `printf '%s' ${command[1]}`]);
    expect(stdout).toBe("/home/o'brien/vd/node_modules/electron/dist/chrome-sandbox");
  });

  it('as root says Chromium will not run with its sandbox, and never suggests turning it off', () => {
    const problem = sandboxProblem('/x/electron', { procRoot: '/nonexistent', uid: 0 });
    expect(problem).toMatch(/run `npm start` as a normal user/);
    expect(problem).not.toMatch(/--no-sandbox/);
  });
});
