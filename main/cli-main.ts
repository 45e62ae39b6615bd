import { runVirtdesk } from './cli-commands';

/** The `virtdesk` CLI proper (dist/node/cli-main.mjs), imported by the entry once any fast path has run (main/cli.ts). */
process.exitCode = await runVirtdesk(process.argv.slice(2), import.meta.url);
