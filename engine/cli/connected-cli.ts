import type { CliIo } from './command';
import { extractConnectOption } from './connect-option';
import { runCli } from './run-cli';

/**
 * Runs a command line that may carry `-c, --connect NAME|URI`: without it, `runEmbedded` runs it
 * on the embedded engine; with it, the libvirt commands run it on that connection.
 */
export async function runWithConnectOption(argv: readonly string[], io: CliIo, runEmbedded: (argv: readonly string[]) => Promise<number>): Promise<number> {
  const { argv: rest, connect, error } = extractConnectOption(argv);
  if (error) {
    io.stderr(`virtdesk: ${error}\n`);
    return 2;
  }
  if (connect === undefined) return runEmbedded(rest);
  const { libvirtCommands } = await import('./libvirt-commands');
  const commands = libvirtCommands(connect);
  const isHelp = rest.length === 0 || ['help', '--help', '-h'].includes(rest[0]!);
  if (!isHelp && !commands.some((command) => command.path.every((word, index) => rest[index] === word))) {
    io.stderr(`virtdesk: "${rest.slice(0, 2).join(' ')}" does not run on a libvirt connection (-c ${connect}) yet.\n  On a connection: ${commands.map((command) => command.path.join(' ')).join(', ')}.\n`);
    return 2;
  }
  return runCli(rest, commands, io);
}
