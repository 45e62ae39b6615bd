import type { CliCommand } from './command';

/** Every engine command of the `virtdesk` CLI. Hosts (serve) add their own beside these. */
export const engineCommands: CliCommand[] = [];
