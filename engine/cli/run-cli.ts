import { diskFullError, EngineError } from '../api/errors';
import { ENGINE_VERSION } from '../version';
import type { CliCommand, CliIo } from './command';

/** A usage mistake: printed with the command's usage, exit code 2. */
export class UsageError extends Error {}

function helpText(commands: readonly CliCommand[]): string {
  const width = Math.max(...commands.map((c) => c.path.join(' ').length));
  // Grouped by first word in first-seen order, so `vm disk attach` sits with the other vm commands.
  const groups = [...new Set(commands.map((c) => c.path[0]))];
  const sorted = [...commands].sort((a, b) => groups.indexOf(a.path[0]) - groups.indexOf(b.path[0]));
  const lines = sorted.map((c) => `  virtdesk ${c.path.join(' ').padEnd(width)}  ${c.summary}`);
  return `Virtdesk ${ENGINE_VERSION}: manage QEMU/KVM virtual machines.\n\nUsage:\n${lines.join('\n')}\n\nRun \`virtdesk COMMAND --help\` for a command's options.\nAdd \`-c NAME|URI\` to run vm and host commands on a libvirt connection (see \`virtdesk conn list\`).\n`;
}

/** Picks the command whose path is the longest prefix of argv and runs it. */
export async function runCli(argv: readonly string[], commands: readonly CliCommand[], io: CliIo): Promise<number> {
  if (argv.length === 0 || argv[0] === 'help' || argv[0] === '--help' || argv[0] === '-h') {
    io.stdout(helpText(commands));
    return 0;
  }
  if (argv[0] === '--version' || argv[0] === 'version') {
    io.stdout(`${ENGINE_VERSION}\n`);
    return 0;
  }
  const match = [...commands]
    .sort((a, b) => b.path.length - a.path.length)
    .find((command) => command.path.every((word, index) => argv[index] === word));
  if (!match) {
    io.stderr(`virtdesk: unknown command "${argv.join(' ')}"\n\n${helpText(commands)}`);
    return 2;
  }
  const args = argv.slice(match.path.length);
  if (args.includes('--help') || args.includes('-h')) {
    io.stdout(`${match.summary}\n\nUsage: ${match.usage}\n`);
    return 0;
  }
  try {
    return await match.run(args, io);
  } catch (thrown) {
    const error = diskFullError(thrown) ?? thrown;
    if (error instanceof UsageError) {
      io.stderr(`virtdesk ${match.path.join(' ')}: ${error.message}\nUsage: ${match.usage}\n`);
      return 2;
    }
    if (error instanceof EngineError) {
      io.stderr(`virtdesk: ${error.message}\n${error.hint ? `  ${error.hint}\n` : ''}`);
      return 1;
    }
    // A parseArgs mistake (unknown option, missing value) is a usage error too.
    if (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS')) {
      io.stderr(`virtdesk ${match.path.join(' ')}: ${error.message}\nUsage: ${match.usage}\n`);
      return 2;
    }
    io.stderr(`virtdesk: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return 70;
  }
}
