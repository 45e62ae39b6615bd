import type { CliCommand } from './command';

/**
 * The `virtdesk` commands in groups loaded on demand: a command pays only for its own group's
 * code (start-up time is part of `virtdesk vm start`'s latency). Each group lists the command
 * paths it answers; the longest matching prefix picks it. tests/unit/cli/command-groups.test.ts
 * checks every command is reached through its own group.
 */
export interface CommandGroup {
  prefixes: readonly (readonly string[])[];
  load(): Promise<readonly CliCommand[]>;
}

/** Every engine command group, in the order `virtdesk help` lists them. Hosts (serve) add their own. */
export const engineCommandGroups: readonly CommandGroup[] = [
  { prefixes: [['vm']], load: async () => (await import('./vm-commands')).vmCommands },
  {
    prefixes: [['snapshot'], ['vm', 'clone'], ['vm', 'save'], ['vm', 'restore'], ['vm', 'template']],
    load: async () => (await import('./snapshot-commands')).snapshotCommands,
  },
  { prefixes: [['host']], load: async () => (await import('./host-commands')).hostCommands },
  {
    prefixes: [['pool'], ['image'], ['iso'], ['vm', 'disk'], ['vm', 'cdrom']],
    load: async () => (await import('./storage-commands')).storageCommands,
  },
  { prefixes: [['net'], ['vm', 'port-forward']], load: async () => (await import('./net-commands')).netCommands },
  { prefixes: [['conn']], load: async () => (await import('./conn-commands')).connCommands },
  { prefixes: [['folder']], load: async () => (await import('./folder-commands')).folderCommands },
];

function matchLength(argv: readonly string[], prefix: readonly string[]): number {
  return prefix.every((word, index) => argv[index] === word) ? prefix.length : 0;
}

/** The group whose longest prefix matches argv, if any. */
export function groupFor(argv: readonly string[], groups: readonly CommandGroup[]): CommandGroup | undefined {
  let best: CommandGroup | undefined;
  let bestLength = 0;
  for (const group of groups) {
    for (const prefix of group.prefixes) {
      const length = matchLength(argv, prefix);
      if (length > bestLength) {
        best = group;
        bestLength = length;
      }
    }
  }
  return best;
}

/**
 * The commands `runCli` needs for argv: its group's, or all of them when argv names no command of
 * a group (help, a typo), so help text and "unknown command" list everything.
 */
export async function commandsFor(argv: readonly string[], groups: readonly CommandGroup[]): Promise<CliCommand[]> {
  const group = groupFor(argv, groups);
  if (group) {
    const commands = await group.load();
    if (commands.some((command) => matchLength(argv, command.path) > 0)) return [...commands];
  }
  return (await Promise.all(groups.map((each) => each.load()))).flat();
}
