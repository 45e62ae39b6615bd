import { processIo } from '../engine/cli/command';
import { engineCommands } from '../engine/cli/commands';
import { runCli } from '../engine/cli/run-cli';
import { serveCommand } from './serve/serve-command';

/** Entry of the `virtdesk` binary: the engine's commands plus the hosts that live in main/. */
const code = await runCli(process.argv.slice(2), [...engineCommands, serveCommand], processIo);
process.exitCode = code;
