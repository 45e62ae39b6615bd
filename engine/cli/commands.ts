import type { CliCommand } from './command';
import { hostCommands } from './host-commands';
import { netCommands } from './net-commands';
import { snapshotCommands } from './snapshot-commands';
import { storageCommands } from './storage-commands';
import { vmCommands } from './vm-commands';

/** Every engine command of the `virtdesk` CLI. Hosts (serve) add their own beside these. */
export const engineCommands: CliCommand[] = [...vmCommands, ...snapshotCommands, ...hostCommands, ...storageCommands, ...netCommands];
