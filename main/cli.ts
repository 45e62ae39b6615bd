import type { CliCommand } from '../engine/cli/command';
import { processIo } from '../engine/cli/command';
import { engineCommands } from '../engine/cli/commands';
import { runCli } from '../engine/cli/run-cli';

/**
 * `serve` loads the whole engine (every service and API schema); it is imported only when run,
 * so short commands like `vm start` do not pay for it.
 */
const serve: CliCommand = {
  path: ['serve'],
  summary: 'Serve the Virtdesk UI to a browser (headless host)',
  usage: 'virtdesk serve [--port N] [--host 127.0.0.1] [--allow-remote --tls-cert FILE --tls-key FILE]',
  run: async (args, io) => {
    const { builtLocations, serveCommand } = await import('./serve/serve-command');
    return serveCommand.run(args, io, builtLocations(import.meta.url));
  },
};

/** Entry of the `virtdesk` binary: the engine's commands plus the hosts that live in main/. */
const code = await runCli(process.argv.slice(2), [...engineCommands, serve], processIo);
process.exitCode = code;
