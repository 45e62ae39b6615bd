import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { guessVmStart } from '../engine/cli/guess-vm-start';
import { prepareHome } from '../engine/paths';

/**
 * Entry of the `virtdesk` binary, built as CommonJS (dist/node/cli.cjs) and kept tiny: a CommonJS
 * main spares Node its ES module loader at start-up, and `vm start` spawns QEMU from its launch
 * cache (engine/vm/ops/fast-start) before the CLI proper (dist/node/cli-main.mjs) and the engine load.
 */
async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  prepareHome(process.env);
  await guessVmStart(argv, process.env);
  await import(pathToFileURL(join(__dirname, 'cli-main.mjs')).href);
}

let finished = false;
// A command left waiting on something that can no longer happen must not end as a silent success.
process.once('beforeExit', () => {
  if (finished) return;
  process.stderr.write('virtdesk: internal error: the command stopped before it finished\n');
  process.exitCode = 70;
});

main().then(
  () => (finished = true),
  (error: unknown) => {
    finished = true;
    process.stderr.write(`virtdesk: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 70;
  },
);
