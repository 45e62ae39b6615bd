// `npm start`: the Electron app when it can start here, otherwise `virtdesk serve` with one line
// that says why and where the UI is. Never downloads anything.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { electronBinary, electronEnvironment, sandboxProblem } from './electron-launch.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));

function electronUnavailable() {
  if (process.env.VIRTDESK_NO_ELECTRON) return 'VIRTDESK_NO_ELECTRON is set';
  const found = electronBinary(process.env);
  if (!found.ok) return found.why;
  if (process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) {
    return 'there is no graphical display (neither DISPLAY nor WAYLAND_DISPLAY is set)';
  }
  return undefined;
}

function run(command, args, env = process.env) {
  const child = spawn(command, args, { stdio: 'inherit', env });
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
  const binary = electronBinary(process.env).binary;
  const code = await run(binary, [root], electronEnvironment(process.env));
  if (code !== 0) {
    const cause = sandboxProblem(binary);
    process.stdout.write(`Electron exited with code ${code}${cause ? `. ${cause}` : ''}. Starting the browser UI instead (virtdesk serve); open the URL below.\n`);
    process.exitCode = await run(process.execPath, serveArgs);
  }
}
