#!/usr/bin/env node
// The `virtdesk` command: runs the bundled CLI. Build it first with `npm run build`.
// CommonJS, like the bundle's entry, so Node starts without its ES module loader (start-up time).
'use strict';
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const bundle = join(__dirname, '..', 'dist', 'node', 'cli.cjs');
if (!existsSync(bundle)) {
  process.stderr.write('virtdesk: the CLI is not built yet. Run `npm run build` in the checkout first.\n');
  process.exit(1);
}
require(bundle);
