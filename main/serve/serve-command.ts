import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { CliIo } from '../../engine/cli/command';
import { UsageError } from '../../engine/cli/run-cli';
import { createEngine } from '../../engine/engine';
import { rootSessionWarning } from '../../engine/host/root-warning';
import { virtdeskHome } from '../../engine/paths';
import { supervisorForkExecArgv } from '../../engine/vm/supervision/supervisor-flags';
import { forkWorkerFactory } from '../../engine/vm/supervision/worker';
import { ConsoleTickets } from './console-tickets';
import { listen } from './listener';
import { startServer } from './server';

/** Where the built parts are, as seen from the bundled CLI (dist/node/cli-main.mjs, beside cli.cjs). */
export interface BuiltLocations {
  rendererRoot: string;
  supervisorEntry: string;
}

/** The locations beside a bundled entry in dist/node/ (this module itself may sit in a chunk). */
export function builtLocations(entryUrl: string): BuiltLocations {
  return {
    rendererRoot: fileURLToPath(new URL('../renderer', entryUrl)),
    supervisorEntry: fileURLToPath(new URL('./supervisor.cjs', entryUrl)),
  };
}

export const serveCommand = {
  async run(args: string[], io: CliIo, built: BuiltLocations): Promise<number> {
    const { values } = parseArgs({
      args,
      options: {
        port: { type: 'string', default: '8090' },
        host: { type: 'string', default: '127.0.0.1' },
        'allow-remote': { type: 'boolean', default: false },
        'tls-cert': { type: 'string' },
        'tls-key': { type: 'string' },
        'renderer-root': { type: 'string' },
        'session-idle-minutes': { type: 'string', default: '30' },
        'session-hours': { type: 'string', default: '12' },
      },
      strict: true,
    });
    const port = Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be 0–65535, not "${values.port}"`);
    if ((values['tls-cert'] === undefined) !== (values['tls-key'] === undefined)) {
      throw new UsageError('--tls-cert and --tls-key go together');
    }
    const sessions = {
      idleMs: positive(values['session-idle-minutes'], '--session-idle-minutes') * 60_000,
      maxAgeMs: positive(values['session-hours'], '--session-hours') * 3600_000,
    };
    if (values['allow-remote']) {
      io.stderr('WARNING: --allow-remote serves the VMs of this machine to the network. Anyone with the launch URL controls them.\n');
    }
    const rootWarning = rootSessionWarning('serve');
    if (rootWarning) io.stderr(`WARNING: ${rootWarning}\n`);
    const tls = values['tls-cert'] && values['tls-key'] ? { tls: { certFile: values['tls-cert'], keyFile: values['tls-key'] } } : {};
    // Bind first: a serve that cannot listen fails here, before its engine supervises anything.
    const listener = await listen({ host: values.host, port, allowRemote: values['allow-remote'], ...tls });
    const consoleTickets = new ConsoleTickets();
    let engine;
    try {
      engine = await createEngine({
        home: virtdeskHome(io.env),
        env: io.env,
        hostKind: 'serve',
        hostAddress: listener.origin,
        workers: forkWorkerFactory({ execArgv: supervisorForkExecArgv() }),
        supervisorEntry: built.supervisorEntry,
        consoles: consoleTickets,
        log: (line) => io.stderr(`${line}\n`),
      });
    } catch (error) {
      await listener.close();
      throw error;
    }
    const server = await startServer({
      engine,
      consoleTickets,
      listener,
      rendererRoot: values['renderer-root'] ?? built.rendererRoot,
      host: values.host,
      port,
      sessions,
      onLaunchUrl: (url, why) => io.stdout(`${why}. A new launch URL: ${url}\n`),
      log: (line) => io.stderr(`[serve] ${line}\n`),
    });
    io.stdout(`Virtdesk is serving at ${server.url}\n`);
    io.stdout(`(process ${process.pid}; \`kill -USR1 ${process.pid}\` prints a new launch URL)\n`);
    const printNewUrl = () => io.stdout(`A new launch URL: ${server.newLaunchUrl()}\n`);
    process.on('SIGUSR1', printNewUrl);
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    process.off('SIGUSR1', printNewUrl);
    await server.close();
    await engine.close();
    return 0;
  },
};

function positive(text: string, flag: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new UsageError(`${flag} must be a number above 0, not "${text}"`);
  return value;
}
