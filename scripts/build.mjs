// Builds everything into dist/: the renderer (Vite), the Node entries (CLI, supervisor, bench)
// and the Electron entries (main, preload). One command, no watch mode; `npm run build`.
import { build as esbuild } from 'esbuild';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build as viteBuild } from 'vite';

const root = fileURLToPath(new URL('..', import.meta.url));
const quiet = process.argv.includes('--quiet');

// ESM bundles that still contain CommonJS dependencies need a real `require`.
const requireShim = "import { createRequire as __virtdeskCreateRequire } from 'node:module'; const require = __virtdeskCreateRequire(import.meta.url);";

/** Node entry points: name in dist/node → source. Entries whose source does not exist yet are skipped. */
const nodeEntries = {
  'cli-main': 'main/cli-main.ts',
  bench: 'bench/main.ts',
};

async function buildNode() {
  const entryPoints = Object.fromEntries(Object.entries(nodeEntries).filter(([, source]) => existsSync(`${root}/${source}`)));
  await esbuild({
    absWorkingDir: root,
    entryPoints,
    outdir: 'dist/node',
    outExtension: { '.js': '.mjs' },
    // Lazily imported parts (serve) become their own chunks, so short CLI commands load less.
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    sourcemap: true,
    banner: { js: requireShim },
    // Optional native accelerators of `ws`; it works without them.
    external: ['bufferutil', 'utf-8-validate', 'electron'],
    logLevel: quiet ? 'warning' : 'info',
  });
}

/**
 * Single-file CommonJS entries: Node starts a CommonJS main without initialising its ES module
 * loader, and they share no chunks.
 * - cli: the `virtdesk` entry; that time would otherwise come before `vm start` spawns QEMU (main/cli.ts).
 * - supervisor: one process per running VM, and every module it loads stays resident for the VM's
 *   whole life (bench/README.md, suite 3).
 */
async function buildCommonJsEntries() {
  await esbuild({
    absWorkingDir: root,
    entryPoints: { cli: 'main/cli.ts', supervisor: 'engine/vm/supervision/supervisor-main.ts' },
    outdir: 'dist/node',
    outExtension: { '.js': '.cjs' },
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    sourcemap: true,
    external: ['electron'],
    logLevel: quiet ? 'warning' : 'info',
  });
}

/**
 * The network helper pkexec runs as root (engine/network/privileged/helper-main.ts): one CommonJS
 * file for the system Node.js the .deb depends on (Debian 12 and Ubuntu 24.04 ship Node 18), since
 * the app's own Electron binary cannot run scripts (electron.config.ts).
 */
async function buildNetHelper() {
  await esbuild({
    absWorkingDir: root,
    entryPoints: { 'net-helper': 'engine/network/privileged/helper-main.ts' },
    outdir: 'dist/node',
    outExtension: { '.js': '.cjs' },
    bundle: true,
    platform: 'node',
    target: 'node18',
    format: 'cjs',
    logLevel: quiet ? 'warning' : 'info',
  });
}

async function buildElectron() {
  const common = {
    absWorkingDir: root,
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'cjs',
    sourcemap: true,
    external: ['electron', 'bufferutil', 'utf-8-validate'],
    logLevel: quiet ? 'warning' : 'info',
  };
  await esbuild({ ...common, entryPoints: { main: 'main/electron/main.ts' }, outdir: 'dist/electron', outExtension: { '.js': '.cjs' } });
  // The preload runs sandboxed: a single CommonJS file that may require only `electron`.
  await esbuild({ ...common, entryPoints: { preload: 'main/electron/preload.ts' }, outdir: 'dist/electron', outExtension: { '.js': '.cjs' } });
}

async function buildRenderer() {
  await viteBuild({ configFile: `${root}/vite.config.ts`, logLevel: quiet ? 'warn' : 'info' });
}

await rm(`${root}/dist/node`, { recursive: true, force: true });
await rm(`${root}/dist/electron`, { recursive: true, force: true });
await Promise.all([buildRenderer(), buildNode(), buildCommonJsEntries(), buildNetHelper(), buildElectron()]);
