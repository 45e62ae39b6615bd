import { parseArgs } from 'node:util';
import { virtdeskHome } from '../paths';
import { AllowedFolders, type AllowedFolder } from '../storage/access/allowed-folders';
import type { CliCommand, CliIo } from './command';
import { UsageError } from './run-cli';

/** `virtdesk folder …`: the folders browser sessions of `virtdesk serve` (and the app's pages) may name files in. */

function parse(args: string[], positionalCount: number, usage: string) {
  const { values, positionals } = parseArgs({ args, strict: true, allowPositionals: true, options: { json: { type: 'boolean', default: false } } });
  if (positionals.length !== positionalCount) throw new UsageError(`usage: ${usage}`);
  return { json: values.json, positionals };
}

const folders = (io: CliIo) => new AllowedFolders({ home: virtdeskHome(io.env), env: io.env });

function formatFolders(list: readonly AllowedFolder[]): string {
  const width = Math.max(6, ...list.map((f) => f.path.length));
  const lines = list.map((f) => `${f.path.padEnd(width)}  ${f.source === 'added' ? 'allowed on purpose' : f.source === 'home' ? 'home folder (not its hidden folders)' : f.label}`);
  return `${['FOLDER'.padEnd(width) + '  WHY', ...lines].join('\n')}\n`;
}

const folderList: CliCommand = {
  path: ['folder', 'list'],
  summary: 'List the folders browser sessions may name files in',
  usage: 'virtdesk folder list [--json]',
  async run(args, io) {
    const { json } = parse(args, 0, this.usage);
    const list = await folders(io).list();
    io.stdout(json ? `${JSON.stringify(list, null, 2)}\n` : formatFolders(list));
    return 0;
  },
};

const folderAllow: CliCommand = {
  path: ['folder', 'allow'],
  summary: 'Let browser sessions name files in a folder (not a system folder)',
  usage: 'virtdesk folder allow FOLDER [--json]',
  async run(args, io) {
    const { json, positionals } = parse(args, 1, this.usage);
    const folder = await folders(io).add(positionals[0] ?? '');
    io.stdout(json ? `${JSON.stringify(folder, null, 2)}\n` : `Browser sessions may now name files in ${folder.path}.\n`);
    return 0;
  },
};

const folderDisallow: CliCommand = {
  path: ['folder', 'disallow'],
  summary: 'Take a folder allowed on purpose off the list',
  usage: 'virtdesk folder disallow FOLDER',
  async run(args, io) {
    const { positionals } = parse(args, 1, this.usage);
    const removed = await folders(io).remove(positionals[0] ?? '');
    if (!removed) {
      io.stderr(`virtdesk: ${positionals[0]} was not allowed on purpose (pools, the ISO library and the home folder are always allowed).\n`);
      return 1;
    }
    io.stdout(`${positionals[0]} is no longer allowed.\n`);
    return 0;
  },
};

export const folderCommands: readonly CliCommand[] = [folderList, folderAllow, folderDisallow];
