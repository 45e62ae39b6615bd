import type { UtilityProcess } from 'electron';
import { classifyExit, WorkerEvents, type VmWorker, type WorkerEntry, type WorkerExit, type WorkerFactory } from '../../engine/vm/worker';

const KILL_GRACE_MS = 3000;

/** What this adapter needs of Electron's `utilityProcess` module (injected, so tests need no Electron). */
export interface UtilityProcessModule {
  fork(modulePath: string, args?: string[], options?: { env?: NodeJS.ProcessEnv; serviceName?: string; stdio?: 'inherit' | 'pipe' | 'ignore' }): UtilityProcess;
}

/**
 * The Electron side of the engine's worker interface: one utilityProcess per VM supervisor.
 * (Electron's run-as-node fuse is off, so child_process.fork of the app binary is not an option.)
 */
export function utilityWorkerFactory(utility: UtilityProcessModule, sendKill: (pid: number, signal: NodeJS.Signals) => void = process.kill): WorkerFactory {
  return <In, Out>(entry: WorkerEntry): VmWorker<In, Out> => {
    const child = utility.fork(entry.modulePath, [...(entry.args ?? [])], { env: entry.env ?? process.env, serviceName: entry.name, stdio: 'inherit' });
    const events = new WorkerEvents<Out>();
    let exit: WorkerExit | undefined;
    let killRequested = false;
    let killTimer: NodeJS.Timeout | undefined;
    child.on('message', (message: unknown) => events.emitMessage(message as Out));
    child.once('exit', (code: number) => {
      clearTimeout(killTimer);
      // utilityProcess reports no signal; a kill we did not ask for shows as a non-zero code.
      exit = classifyExit(code, null, killRequested);
      events.emitExit(exit);
    });
    return {
      get pid() {
        return child.pid;
      },
      get exit() {
        return exit;
      },
      postMessage(message: In) {
        if (!exit) child.postMessage(message);
      },
      on(event: 'message' | 'exit', listener: never) {
        return events.add(event, listener);
      },
      kill() {
        if (exit || killRequested) return;
        killRequested = true;
        child.kill();
        killTimer = setTimeout(() => {
          if (child.pid !== undefined) sendKill(child.pid, 'SIGKILL');
        }, KILL_GRACE_MS);
        killTimer.unref();
      },
    } as VmWorker<In, Out>;
  };
}
