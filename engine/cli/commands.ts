import type { CliCommand } from './command';
import { hostCommands } from './host-commands';
import { storageCommands } from './storage-commands';

/** Every engine command of the `virtdesk` CLI. Hosts (serve) add their own beside these. */
export const engineCommands: CliCommand[] = [...hostCommands, ...storageCommands];
