import type { ArgvStep } from './context';
import { optionList } from './qemu-option';

/**
 * Nothing implicit (`-nodefaults -no-user-config`), paused until the supervisor says `cont` (`-S`),
 * named for `ps`/`top` (and per-thread names with debug-threads), a pidfile for re-attach.
 * No `-daemonize`: the launcher spawns QEMU detached itself. `-incoming defer` when a saved state
 * is to be loaded into it.
 */
export const headerStep: ArgvStep = {
  name: 'header',
  build: ({ def, input }) => [
    '-nodefaults',
    '-no-user-config',
    '-S',
    '-name',
    optionList([
      ['guest', def.name],
      ['debug-threads', true],
    ]),
    '-uuid',
    def.id,
    '-msg',
    'timestamp=on',
    '-pidfile',
    input.paths.pidFile,
    ...(input.options?.noShutdown ? ['-no-shutdown'] : []),
    ...(input.options?.incoming ? ['-incoming', input.options.incoming] : []),
  ],
};
