import { parseArgs } from 'node:util';
import { listSavedConnections, addSavedConnection, removeSavedConnection } from '../libvirt/connections/saved-connections';
import { virtdeskHome } from '../paths';
import type { CliCommand } from './command';
import { printJson, table } from './output';
import { UsageError } from './run-cli';

const add: CliCommand = {
  path: ['conn', 'add'],
  summary: 'Add a libvirt connection (qemu:///system, qemu+ssh://user@host/system, ...)',
  usage: 'virtdesk conn add NAME URI [--autoconnect]',
  async run(args, io) {
    const { values, positionals } = parseArgs({ args, strict: true, allowPositionals: true, options: { autoconnect: { type: 'boolean', default: false } } });
    if (positionals.length !== 2) throw new UsageError(positionals.length < 2 ? 'missing NAME or URI' : `unexpected argument "${positionals[2]}"`);
    const connection = await addSavedConnection(virtdeskHome(io.env), { name: positionals[0]!, uri: positionals[1]!, autoconnect: values.autoconnect === true });
    io.stdout(`Added connection "${connection.name}" (${connection.uri}${connection.autoconnect ? ', connects at start' : ''}).\n`);
    return 0;
  },
};

const list: CliCommand = {
  path: ['conn', 'list'],
  summary: 'List the libvirt connections',
  usage: 'virtdesk conn list [--json]',
  async run(args, io) {
    const { values, positionals } = parseArgs({ args, strict: true, allowPositionals: true, options: { json: { type: 'boolean', default: false } } });
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    const connections = await listSavedConnections(virtdeskHome(io.env));
    if (values.json) return printJson(io, connections);
    if (connections.length === 0) {
      io.stdout('No libvirt connections. Add one with: virtdesk conn add NAME URI\n');
      return 0;
    }
    io.stdout(table([['NAME', 'URI', 'AUTOCONNECT'], ...connections.map((connection) => [connection.name, connection.uri, connection.autoconnect ? 'yes' : 'no'])]));
    return 0;
  },
};

const remove: CliCommand = {
  path: ['conn', 'remove'],
  summary: 'Remove a libvirt connection (the host and its VMs are untouched)',
  usage: 'virtdesk conn remove NAME',
  async run(args, io) {
    const { positionals } = parseArgs({ args, strict: true, allowPositionals: true, options: {} });
    if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'missing NAME' : `unexpected argument "${positionals[1]}"`);
    const removed = await removeSavedConnection(virtdeskHome(io.env), positionals[0]!);
    io.stdout(`Removed connection "${removed.name}" (${removed.uri}).\n`);
    return 0;
  },
};

export const connCommands: readonly CliCommand[] = [add, list, remove];
