import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../../dist/node/cli.cjs', import.meta.url));
const GUEST_CACHE = fileURLToPath(new URL('../../.cache/guest', import.meta.url));

export interface ServeProcess {
  /** The launch URL with its one-time token. */
  url: string;
  origin: string;
  home: string;
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/** Starts the built `virtdesk serve` on a free loopback port with its own VIRTDESK_HOME. */
export async function startServeProcess(options: { home?: string; env?: NodeJS.ProcessEnv; args?: string[] } = {}): Promise<ServeProcess> {
  const home = options.home ?? (await mkdtemp(join(tmpdir(), 'virtdesk-e2e-')));
  const ownsHome = options.home === undefined;
  await mkdir(GUEST_CACHE, { recursive: true });
  // The tests' browser names the test guest's files (kernel, ISO) in the shared cache, which is no
  // pool: the user allows that folder on the host, as `virtdesk folder allow` is meant for.
  const env = { ...process.env, VIRTDESK_HOME: home, ...options.env };
  const allowed = spawnSync(process.execPath, [cli, 'folder', 'allow', GUEST_CACHE], { env, encoding: 'utf8' });
  if (allowed.status !== 0) throw new Error(`virtdesk folder allow ${GUEST_CACHE} failed: ${allowed.stderr}`);
  const child = spawn(process.execPath, [cli, 'serve', '--port', '0', ...(options.args ?? [])], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve printed no URL within 20 s:\n${output}`)), 20_000);
    const check = () => {
      const match = /serving at (\S+)/.exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code} before printing a URL:\n${output}`));
    });
  });
  return {
    url,
    origin: new URL(url).origin,
    home,
    child,
    output: () => output,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      if (ownsHome) await rm(home, { recursive: true, force: true });
    },
  };
}
