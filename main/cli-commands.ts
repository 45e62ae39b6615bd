import type { CliCommand } from '../engine/cli/command';
import { processIo } from '../engine/cli/command';
import { commandsFor, engineCommandGroups, type CommandGroup } from '../engine/cli/commands';
import { runWithConnectOption } from '../engine/cli/connected-cli';
import { runCli } from '../engine/cli/run-cli';

/**
 * `serve` loads the whole engine (every service and API schema): its own group, loaded only when
 * run. `entryUrl` is the binary's own module (dist/node/cli.mjs), next to which the build puts the
 * renderer and the supervisor.
 */
const serve = (entryUrl: string): CliCommand => ({
  path: ['serve'],
  summary: 'Serve the Virtdesk UI to a browser (headless host)',
  usage: 'virtdesk serve [--port N] [--host 127.0.0.1] [--allow-remote --tls-cert FILE --tls-key FILE] [--session-idle-minutes 30] [--session-hours 12]',
  run: async (args, io) => {
    const { builtLocations, serveCommand } = await import('./serve/serve-command');
    return serveCommand.run(args, io, builtLocations(entryUrl));
  },
});

export function virtdeskCommandGroups(entryUrl: string): readonly CommandGroup[] {
  return [...engineCommandGroups, { prefixes: [['serve']], load: async () => [serve(entryUrl)] }];
}

/** Runs one `virtdesk` command line, loading only the command group it needs; `-c CONNECTION` runs it on libvirt. */
export async function runVirtdesk(argv: readonly string[], entryUrl: string): Promise<number> {
  return runWithConnectOption(argv, processIo, async (rest) => runCli(rest, await commandsFor(rest, virtdeskCommandGroups(entryUrl)), processIo));
}
