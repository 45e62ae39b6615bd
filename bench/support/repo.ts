import { execFile } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { cp, mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The repository root, found from this file whether it runs from bench/ or bundled in dist/node/. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'tests', 'guest', 'build.sh'))) {
    const parent = resolve(dir, '..');
    if (parent === dir) throw new Error('cannot find tests/guest/build.sh above the bench script');
    dir = parent;
  }
  return dir;
}

export interface GuestFiles {
  kernel: string;
  initrd: string;
  cmdline: string;
}

let guest: Promise<GuestFiles> | undefined;

/** The test guest (built once per machine by tests/guest/build.sh, cached afterwards). */
export function testGuestFiles(): Promise<GuestFiles> {
  guest ??= (async () => {
    const { stdout } = await run('bash', [join(repoRoot(), 'tests', 'guest', 'build.sh')], { timeout: 15 * 60_000, maxBuffer: 16 * 1024 * 1024 });
    const dir = stdout.trim().split('\n').pop()?.trim() ?? '';
    const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as { cmdline: string; files: { kernel: string; initrd: string } };
    return { kernel: join(dir, manifest.files.kernel), initrd: join(dir, manifest.files.initrd), cmdline: manifest.cmdline };
  })();
  return guest;
}

let privateBuild: Promise<{ path: string } | { missing: string }> | undefined;

/**
 * The built `virtdesk` entry that `serve` runs from: a private copy of dist/node and
 * dist/renderer, so that someone rebuilding dist/ during a long run cannot pull it away.
 */
export function builtCli(): Promise<{ path: string } | { missing: string }> {
  privateBuild ??= (async () => {
    const dist = join(repoRoot(), 'dist');
    for (let attempt = 0; attempt < 30; attempt++) {
      if (existsSync(join(dist, 'node', 'cli.cjs')) && existsSync(join(dist, 'node', 'supervisor.cjs')) && existsSync(join(dist, 'renderer', 'index.html'))) {
        const copy = await mkdtemp(join(tmpdir(), 'vdbench-dist-'));
        process.once('exit', () => rmSync(copy, { recursive: true, force: true }));
        try {
          await cp(join(dist, 'node'), join(copy, 'node'), { recursive: true });
          await cp(join(dist, 'renderer'), join(copy, 'renderer'), { recursive: true });
          if (existsSync(join(copy, 'node', 'cli.cjs')) && existsSync(join(copy, 'renderer', 'index.html'))) return { path: join(copy, 'node', 'cli.cjs') };
        } catch {
          // dist/ changed under the copy (a rebuild): try again.
        }
      }
      await new Promise((resolvePromise) => setTimeout(resolvePromise, 1000));
    }
    return { missing: 'dist/ has no built CLI and renderer: run `npm run build` (npm run bench does)' };
  })();
  return privateBuild;
}

/** The guest's ready line on serial, matched only as a complete line. */
export const READY_LINE_IN_STREAM = /VIRTDESK-READY ip=\S+\r?\n/;
