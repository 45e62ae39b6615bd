// electron.config.ts as electron-builder resolves it. Packaging cannot run on these machines (no
// Electron zips, no AppImage tools), so the parts of electron-builder that turn the config into a
// .deb are called directly, and the scripts the .deb runs are run for real in a staging root.
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import config, { ELECTRON_DEB_DEPENDS, ELECTRON_DEB_RECOMMENDS } from '../../../electron.config';

const run = promisify(execFile);
const require = createRequire(import.meta.url);
const root = fileURLToPath(new URL('../../..', import.meta.url));
const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { name: string; productName: string; desktopName: string; description: string };

type FpmTargetClass = { prototype: { getDefaultDepends(target: string): string[]; getDefaultRecommends(target: string): string[] } };
const FpmTarget = (require('app-builder-lib/out/targets/FpmTarget') as { default: FpmTargetClass }).default;
const { LinuxTargetHelper } = require('app-builder-lib/out/targets/LinuxTargetHelper') as {
  LinuxTargetHelper: new (packager: unknown) => { computeDesktopEntry(options: unknown): Promise<string>; getDesktopFileName(): string };
};

/** The subset of electron-builder's LinuxPackager that its desktop-entry code reads, filled from our config. */
function linuxHelper() {
  return new LinuxTargetHelper({
    appInfo: { productName: config.productName, sanitizedProductName: config.productName, description: pkg.description },
    executableName: config.linux?.executableName,
    info: { metadata: pkg },
    platformSpecificBuildOptions: config.linux,
    fileAssociations: [],
    config,
  });
}

/** What electron-builder's FpmTarget does to a script template: `${name}` macros, unknown ones an error. */
function renderTemplate(text: string): string {
  const macros: Record<string, string> = { executable: config.linux!.executableName!, sanitizedProductName: config.productName!, productFilename: config.productName! };
  return text.replace(/\${([a-zA-Z]+)}/g, (_match, name: string) => {
    if (!(name in macros)) throw new Error(`Macro ${name} is not defined`);
    return macros[name]!;
  });
}

const commandLines = (text: string) =>
  text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));

describe('the .deb dependencies', () => {
  it("keep electron-builder's own, which setting deb.depends replaces", () => {
    expect(ELECTRON_DEB_DEPENDS).toEqual(FpmTarget.prototype.getDefaultDepends('deb'));
    expect(ELECTRON_DEB_RECOMMENDS).toEqual(FpmTarget.prototype.getDefaultRecommends('deb'));
    expect(config.deb?.depends).toEqual(expect.arrayContaining([...ELECTRON_DEB_DEPENDS, 'libnss3']));
    expect(config.deb?.recommends).toEqual(expect.arrayContaining(ELECTRON_DEB_RECOMMENDS));
  });

  it('add QEMU, and the Node.js the network helper runs under', () => {
    expect(config.deb?.depends).toEqual(expect.arrayContaining(['qemu-system-x86', 'qemu-utils', 'nodejs (>= 18)']));
    expect(config.deb?.recommends).toEqual(expect.arrayContaining(['pkexec | policykit-1']));
  });
});

describe('desktop identity', () => {
  it('names the .desktop file, StartupWMClass, app_id and WM_CLASS alike: org.virtdesk.Virtdesk', async () => {
    expect(pkg.productName).toBe(config.productName);
    expect(pkg.desktopName).toBe(`${config.appId}.desktop`);
    expect(config.linux?.syncDesktopName).toBe(true);
    const helper = linuxHelper();
    expect(helper.getDesktopFileName()).toBe('org.virtdesk.Virtdesk');
    const entry = await helper.computeDesktopEntry(config.linux);
    expect(entry).toMatch(/^StartupWMClass=org\.virtdesk\.Virtdesk$/m);
    expect(entry).toMatch(/^Exec=\/opt\/Virtdesk\/virtdesk %U$/m);
    expect(entry).toMatch(/^Icon=virtdesk$/m);
    // The polkit dialog shows the same icon.
    expect(await readFile(join(root, 'assets/polkit/org.virtdesk.network-helper.policy'), 'utf8')).toContain('<icon_name>virtdesk</icon_name>');
  });
});

describe('fuses', () => {
  it('keep run-as-node off, and say the ASAR integrity fuse does nothing on Linux', async () => {
    expect(config.electronFuses).toMatchObject({ runAsNode: false, onlyLoadAppFromAsar: true, enableNodeOptionsEnvironmentVariable: false });
    const source = await readFile(join(root, 'electron.config.ts'), 'utf8');
    expect(source).toMatch(/Electron checks app\.asar's integrity only on macOS and Windows: on Linux this fuse does\s+\/\/ nothing/);
    expect(source).not.toMatch(/only an integrity-checked app\.asar may be loaded/);
  });
});

describe('the network helper in the .deb', () => {
  let dir: string;
  let appDir: string;
  let stage: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vd-packaging-'));
    appDir = join(dir, 'opt', 'Virtdesk');
    stage = join(dir, 'stage');
    // The app folder as extraFiles lays it out, with the bundle built as scripts/build.mjs builds it.
    for (const entry of config.extraFiles as { from: string; to: string }[]) {
      if (entry.from.startsWith('dist/')) continue;
      await mkdir(join(appDir, entry.to, '..'), { recursive: true });
      await cp(join(root, entry.from), join(appDir, entry.to));
    }
    const buildSource = await readFile(join(root, 'scripts/build.mjs'), 'utf8');
    expect(buildSource).toMatch(/entryPoints: \{ 'net-helper': 'engine\/network\/privileged\/helper-main\.ts' \}[^;]*?target: 'node18',\s*format: 'cjs'/);
    await build({ absWorkingDir: root, entryPoints: ['engine/network/privileged/helper-main.ts'], outfile: join(appDir, 'net-helper', 'net-helper.cjs'), bundle: true, platform: 'node', target: 'node18', format: 'cjs', logLevel: 'silent' });
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('is shipped beside the app by extraFiles: the bundle, the launcher template, the policy and its installer', () => {
    expect(config.extraFiles).toEqual([
      { from: 'dist/node/net-helper.cjs', to: 'net-helper/net-helper.cjs' },
      { from: 'assets/polkit/virtdesk-net-helper.in', to: 'net-helper/virtdesk-net-helper.in' },
      { from: 'assets/polkit/org.virtdesk.network-helper.policy', to: 'net-helper/org.virtdesk.network-helper.policy' },
      { from: 'assets/linux/install-net-helper.sh', to: 'net-helper/install-net-helper.sh' },
    ]);
  });

  it('installs the launcher pkexec runs and the policy that names it; the launcher runs the helper under system Node', async () => {
    await run('sh', [join(appDir, 'net-helper', 'install-net-helper.sh'), appDir, stage, process.execPath]);
    const launcher = join(stage, 'usr/libexec/virtdesk/virtdesk-net-helper');
    const policy = join(stage, 'usr/share/polkit-1/actions/org.virtdesk.network-helper.policy');
    const launcherInfo = await stat(launcher);
    expect(launcherInfo.mode & 0o7777).toBe(0o755);
    expect((await stat(policy)).mode & 0o7777).toBe(0o644);
    if (process.getuid?.() === 0) expect([launcherInfo.uid, launcherInfo.gid]).toEqual([0, 0]);
    expect(await readFile(policy, 'utf8')).toContain('<annotate key="org.freedesktop.policykit.exec.path">/usr/libexec/virtdesk/virtdesk-net-helper</annotate>');
    const text = await readFile(launcher, 'utf8');
    expect(text).not.toMatch(/@NODE@|@HELPER@/);
    expect(text).toContain(`exec "$node" '${appDir}/net-helper/net-helper.cjs' "$@"`);

    // Run as pkexec would (a clean environment, no ELECTRON_RUN_AS_NODE): the helper itself answers.
    const answer = await run(launcher, [], { env: { PATH: '/usr/bin:/bin' } }).catch((error: { code: number; stdout: string }) => error);
    expect(answer).toMatchObject({ code: 1 });
    expect(JSON.parse(answer.stdout)).toEqual({ ok: false, error: { code: 'invalid-argument', message: 'usage: virtdesk-net-helper OPERATION-JSON' } });
  });

  it('says what to install when Node.js is missing', async () => {
    const otherStage = join(dir, 'stage-no-node');
    await run('sh', [join(appDir, 'net-helper', 'install-net-helper.sh'), appDir, otherStage, '/nonexistent/node']);
    const failure = await run(join(otherStage, 'usr/libexec/virtdesk/virtdesk-net-helper'), []).catch((error: { code: number; stderr: string }) => error);
    expect(failure).toMatchObject({ code: 1 });
    expect(failure.stderr).toContain('Node.js is not installed at /nonexistent/node; install it (sudo apt-get install nodejs)');
  });

  it("runs from the after-install, which keeps every step of electron-builder's own template", async () => {
    expect(config.deb).toMatchObject({ afterInstall: 'assets/linux/after-install.tpl', afterRemove: 'assets/linux/after-remove.tpl' });
    const templates = join(root, 'node_modules/app-builder-lib/templates/linux');
    for (const name of ['after-install.tpl', 'after-remove.tpl']) {
      const ours = renderTemplate(await readFile(join(root, 'assets/linux', name), 'utf8'));
      await run('bash', ['-n', '-c', ours]);
      const theirs = commandLines(renderTemplate(await readFile(join(templates, name), 'utf8')));
      // The one line replaced: the user-namespace test, which ours extends (see the template).
      const replaced = "if ! { [[ -L /proc/self/ns/user ]] && unshare --user true; }; then";
      expect(commandLines(ours), name).toEqual(expect.arrayContaining(theirs.filter((line) => line !== replaced)));
    }
    const install = renderTemplate(await readFile(join(root, 'assets/linux/after-install.tpl'), 'utf8'));
    expect(install).toContain("sh '/opt/Virtdesk/net-helper/install-net-helper.sh' '/opt/Virtdesk'");
    expect(install).toContain("chown root:root '/opt/Virtdesk/chrome-sandbox'");
    expect(install).toContain('[ "$(cat /proc/sys/kernel/apparmor_restrict_unprivileged_userns 2>/dev/null)" = 1 ]; then');
    expect(install).toContain("cp -f \"$APPARMOR_PROFILE_SOURCE\" \"$APPARMOR_PROFILE_TARGET\"");
    const remove = renderTemplate(await readFile(join(root, 'assets/linux/after-remove.tpl'), 'utf8'));
    expect(remove).toContain('rm -f /usr/libexec/virtdesk/virtdesk-net-helper /usr/share/polkit-1/actions/org.virtdesk.network-helper.policy');
  });
});
