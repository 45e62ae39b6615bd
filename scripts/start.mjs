// `npm start`: the Electron app when it can start here, otherwise `virtdesk serve` with one line
// that says why and where the UI is. Never downloads anything.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const require = createRequire(import.meta.url);

/** Where the electron package keeps its binary, without triggering its lazy download. */
function electronBinary() {
  let packageDir;
  try {
    packageDir = dirname(require.resolve('electron/package.json'));
  } catch {
    return { ok: false, why: 'the electron package is not installed (run `npm ci`)' };
  }
  const pathFile = join(packageDir, 'path.txt');
  const relative = existsSync(pathFile) ? readFileSync(pathFile, 'utf8').trim() : undefined;
  const binary = relative ? join(packageDir, 'dist', relative) : undefined;
  if (!binary || !existsSync(binary)) {
    return { ok: false, why: 'the Electron binary is not downloaded (it downloads on first launch, and this machine cannot reach its download host)' };
  }
  return { ok: true, binary };
}

function electronUnavailable() {
  if (process.env.VIRTDESK_NO_ELECTRON) return 'VIRTDESK_NO_ELECTRON is set';
  const found = electronBinary();
  if (!found.ok) return found.why;
  if (process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) {
    return 'there is no graphical display (neither DISPLAY nor WAYLAND_DISPLAY is set)';
  }
  return undefined;
}

function run(command, args, env) {
  const child = spawn(command, args, { stdio: 'inherit', env: { ...process.env, ...env } });
  const forward = (signal) => child.kill(signal);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0))));
}

const why = electronUnavailable();
const serveArgs = [join(root, 'dist/node/cli.cjs'), 'serve', ...process.argv.slice(2)];
if (why) {
  process.stdout.write(`Electron cannot start here: ${why}. Starting the browser UI instead (virtdesk serve); open the URL below.\n`);
  process.exitCode = await run(process.execPath, serveArgs);
} else {
  const code = await run(electronBinary().binary, [root]);
  if (code !== 0) {
    // Chromium will not run as root without --no-sandbox, and we do not weaken the sandbox for it.
    const likely = process.getuid?.() === 0 ? ' (Chromium refuses to run as root with its sandbox on; run npm start as a normal user)' : '';
    process.stdout.write(`Electron exited with code ${code}${likely}. Starting the browser UI instead (virtdesk serve); open the URL below.\n`);
    process.exitCode = await run(process.execPath, serveArgs);
  }
}
