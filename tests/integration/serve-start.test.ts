import { execFileSync, spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, symlink } from 'node:fs/promises';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOME_LOCK_FILE } from '../../engine/home-lock';
import { startServeProcess } from '../support/serve-process';

/** The built `virtdesk` (npm test builds before the integration suite). */
const builtCli = fileURLToPath(new URL('../../dist/node/cli.cjs', import.meta.url));

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'virtdesk-serve-start-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Runs `virtdesk serve ARGS` and waits for it to exit on its own (it must, within 20 s). */
function serveMustExit(args: string[], home: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [builtCli, 'serve', ...args], { env: { ...process.env, VIRTDESK_HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`serve ${args.join(' ')} kept running 20 s after it should have failed:\n${stderr}`));
    }, 20_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

/** What a failed start left in its home: nothing of an engine (no host lock, no VM or network state). */
async function engineTraces(home: string): Promise<string[]> {
  return readdir(home).catch(() => []);
}

describe('a serve that cannot start exits non-zero before its engine starts', () => {
  let busy: Server;
  const tls = { cert: '', key: '' };
  beforeAll(async () => {
    tls.cert = join(dir, 'cert.pem');
    tls.key = join(dir, 'key.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=virtdesk-test', '-days', '1', '-keyout', tls.key, '-out', tls.cert], { stdio: 'ignore' });
    busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    await new Promise((resolve) => busy.close(resolve));
  });

  it('on a port already in use', async () => {
    const home = join(dir, 'in-use');
    const { code, stderr } = await serveMustExit(['--port', String((busy.address() as AddressInfo).port)], home);
    expect(code).toBe(1);
    expect(stderr).toMatch(/Port \d+ on 127\.0\.0\.1 is already in use\.\n {2}Pass another --port/);
    expect(await engineTraces(home)).toEqual([]);
  });

  it('on a --host it refuses, or --allow-remote without TLS, or TLS files it cannot read', async () => {
    const cases: [string[], RegExp][] = [
      [['--host', '0.0.0.0', '--port', '0'], /Refusing to listen on 0\.0\.0\.0: only loopback/],
      [['--host', '0.0.0.0', '--allow-remote', '--port', '0'], /Serving 0\.0\.0\.0 to other machines needs TLS/],
      [['--host', '0.0.0.0', '--allow-remote', '--tls-cert', join(dir, 'none.pem'), '--tls-key', join(dir, 'none.key'), '--port', '0'], /Cannot read the TLS certificate .*none\.pem: ENOENT/],
      [['--host', '0.0.0.0', '--allow-remote', '--tls-cert', builtCli, '--tls-key', builtCli, '--port', '0'], /The TLS certificate and key cannot be used: /],
      [['--host', '192.0.2.1', '--allow-remote', '--tls-cert', tls.cert, '--tls-key', tls.key, '--port', '0'], /Cannot listen on 192\.0\.2\.1: this machine has no such address/],
    ];
    for (const [args, message] of cases) {
      const home = join(dir, `refused-${cases.findIndex(([other]) => other === args)}`);
      const { code, stderr } = await serveMustExit(args, home);
      expect(code, stderr).not.toBe(0);
      expect(stderr).toMatch(message);
      expect(stderr).not.toMatch(/internal error|\n\s+at /);
      expect(await engineTraces(home)).toEqual([]);
    }
  });
});

describe('one host per VIRTDESK_HOME', () => {
  it('a second serve on the home says which process hosts it and exits, through any spelling of the path', async () => {
    const home = join(dir, 'shared');
    const first = await startServeProcess({ home });
    try {
      await symlink(home, join(dir, 'shared-alias'));
      for (const spelling of [home, join(dir, 'shared-alias')]) {
        const { code, stderr } = await serveMustExit(['--port', '0'], spelling);
        expect(code).toBe(1);
        expect(stderr).toContain(`is already hosted by virtdesk serve (process ${first.child.pid}, serving ${first.origin}, since `);
        expect(stderr).toMatch(/Use that one, or stop it first/);
      }
    } finally {
      await first.stop();
    }
    // Stopped cleanly: the lock is gone and the next serve starts.
    expect(await readdir(home)).not.toContain(HOME_LOCK_FILE);
    const next = await startServeProcess({ home });
    await next.stop();
  });

  it('a serve killed with SIGKILL leaves a lock the next serve takes over', async () => {
    const home = join(dir, 'killed');
    const first = await startServeProcess({ home });
    const exited = new Promise((resolve) => first.child.once('exit', resolve));
    first.child.kill('SIGKILL');
    await exited;
    expect(await readdir(home)).toContain(HOME_LOCK_FILE);
    const next = await startServeProcess({ home });
    expect(next.output()).not.toMatch(/already hosted/);
    await next.stop();
  });
});
