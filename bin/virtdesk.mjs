#!/usr/bin/env node
// The `virtdesk` command: runs the bundled CLI. Build it first with `npm run build`.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const bundle = fileURLToPath(new URL('../dist/node/cli.mjs', import.meta.url));
if (!existsSync(bundle)) {
  process.stderr.write('virtdesk: the CLI is not built yet. Run `npm run build` in the checkout first.\n');
  process.exit(1);
}
await import(bundle);
