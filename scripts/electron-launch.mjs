// What `npm start` (scripts/start.mjs) needs to know before and after it launches Electron from a
// source checkout: where the binary is (without triggering its lazy download), the environment to
// give it, and why Chromium's sandbox would abort. Plain Node, no build step: start.mjs runs it.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

/**
 * The Electron binary to start: `VIRTDESK_ELECTRON` when set (a distribution's electron, say), else
 * where the electron package keeps its binary, found without triggering its lazy download.
 */
export function electronBinary(env = process.env, packageDir = electronPackageDir()) {
  if (env.VIRTDESK_ELECTRON) {
    return existsSync(env.VIRTDESK_ELECTRON) ? { ok: true, binary: env.VIRTDESK_ELECTRON } : { ok: false, why: `VIRTDESK_ELECTRON names ${env.VIRTDESK_ELECTRON}, which does not exist` };
  }
  if (!packageDir) return { ok: false, why: 'the electron package is not installed (run `npm ci`)' };
  const pathFile = join(packageDir, 'path.txt');
  const relative = existsSync(pathFile) ? readFileSync(pathFile, 'utf8').trim() : undefined;
  const binary = relative ? join(packageDir, 'dist', relative) : undefined;
  if (!binary || !existsSync(binary)) {
    return { ok: false, why: 'the Electron binary is not downloaded (it downloads on first launch, and this machine cannot reach its download host)' };
  }
  return { ok: true, binary };
}

function electronPackageDir() {
  try {
    return dirname(require.resolve('electron/package.json'));
  } catch {
    return undefined;
  }
}

/**
 * The environment Electron is started with: this one without ELECTRON_RUN_AS_NODE. Some editors and
 * terminals built on Electron export it, and with it set Electron runs main.cjs as plain Node: no
 * window, and `require('electron')` gives a path instead of the API.
 */
export function electronEnvironment(env) {
  const copy = { ...env };
  delete copy.ELECTRON_RUN_AS_NODE;
  return copy;
}

/** The kernel settings that keep an unprivileged process (Chromium) from making user namespaces. */
const USERNS_RESTRICTIONS = [
  { file: 'sys/kernel/apparmor_restrict_unprivileged_userns', blocks: '1', name: 'kernel.apparmor_restrict_unprivileged_userns = 1 (AppArmor, Ubuntu 23.10 and later)' },
  { file: 'sys/kernel/unprivileged_userns_clone', blocks: '0', name: 'kernel.unprivileged_userns_clone = 0' },
  { file: 'sys/user/max_user_namespaces', blocks: '0', name: 'user.max_user_namespaces = 0' },
];

/** The first setting of this system that keeps Chromium from its user-namespace sandbox, if any. */
export function usernsRestriction(procRoot = '/proc') {
  for (const restriction of USERNS_RESTRICTIONS) {
    let value;
    try {
      value = readFileSync(join(procRoot, restriction.file), 'utf8').trim();
    } catch {
      continue;
    }
    if (value === restriction.blocks) return restriction.name;
  }
  return undefined;
}

/** Chromium's setuid sandbox helper works only when root owns it and it is set-uid (4755). */
export function suidHelperReady(helper, stat = statSync) {
  try {
    const info = stat(helper);
    return info.uid === 0 && (info.mode & 0o4000) !== 0 && (info.mode & 0o111) === 0o111;
  } catch {
    return false;
  }
}

/**
 * Why Chromium's sandbox cannot start for this Electron binary, with the one command that fixes it,
 * or undefined when nothing is wrong that we can see. Where user namespaces are restricted, Chromium
 * falls back to the setuid `chrome-sandbox` beside the binary and aborts ("The SUID sandbox helper
 * binary was found, but is not configured correctly") unless root owns it with mode 4755. npm cannot
 * install it so; the .deb's after-install does (electron.config.ts). The sandbox is never turned off.
 */
export function sandboxProblem(binary, { procRoot = '/proc', stat = statSync, uid = process.getuid?.() } = {}) {
  if (uid === 0) {
    return 'Chromium refuses to run as root with its sandbox on, and Virtdesk does not turn the sandbox off; run `npm start` as a normal user';
  }
  const restriction = usernsRestriction(procRoot);
  if (!restriction) return undefined;
  const helper = join(dirname(binary), 'chrome-sandbox');
  if (suidHelperReady(helper, stat)) return undefined;
  const quoted = `'${helper.replaceAll("'", "'\\''")}'`;
  return (
    `Chromium's sandbox cannot start: this system restricts unprivileged user namespaces (${restriction}), ` +
    `so Chromium needs its setuid helper ${helper}, which is not owned by root with mode 4755. ` +
    `Fix it once for this checkout (npm ci undoes it): sudo chown root:root ${quoted} && sudo chmod 4755 ${quoted}. ` +
    'The Virtdesk .deb package sets this up itself (and installs an AppArmor profile)'
  );
}
