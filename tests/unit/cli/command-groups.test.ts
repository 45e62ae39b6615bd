import { describe, expect, it } from 'vitest';
import type { CliCommand } from '../../../engine/cli/command';
import { commandsFor, engineCommandGroups, groupFor } from '../../../engine/cli/commands';
import { virtdeskCommandGroups } from '../../../main/cli-commands';

const groups = virtdeskCommandGroups(new URL('../../../dist/node/cli-main.mjs', import.meta.url).href);

describe('CLI command groups', () => {
  it('route every command to the group that defines it', async () => {
    const seen: string[] = [];
    for (const group of groups) {
      for (const command of await group.load()) {
        seen.push(command.path.join(' '));
        expect(groupFor([...command.path, 'NAME', '--json'], groups), command.path.join(' ')).toBe(group);
      }
    }
    expect(seen).toContain('vm start');
    expect(seen).toContain('vm disk attach');
    expect(seen).toContain('vm port-forward');
    expect(seen).toContain('serve');
    expect(new Set(seen).size).toBe(seen.length);
  });

  it('load only the matching group for a known command', async () => {
    const commands = await commandsFor(['vm', 'start', 'x'], engineCommandGroups);
    const paths = commands.map((command: CliCommand) => command.path.join(' '));
    expect(paths).toContain('vm start');
    expect(paths).not.toContain('vm clone');
    expect(paths).not.toContain('image create');
  });

  it('load every group for help and for unknown commands, so their text lists everything', async () => {
    const all = (await Promise.all(engineCommandGroups.map((group) => group.load()))).flat().length;
    expect((await commandsFor(['help'], engineCommandGroups)).length).toBe(all);
    expect((await commandsFor(['vm', 'frobnicate'], engineCommandGroups)).length).toBe(all);
    expect((await commandsFor(['vm'], engineCommandGroups)).length).toBe(all);
  });
});
