import type { ForkOptions } from 'electron';
import { supervisorUtilityExecArgv } from '../../engine/vm/supervision/supervisor-flags';
import { classifyExit, WorkerEvents, type VmWorker, type WorkerEntry, type WorkerExit, type WorkerFactory } from '../../engine/vm/supervision/worker';

export const KILL_GRACE_MS = 3000;

/** The part of an Electron `UtilityProcess` this adapter uses. */
export interface UtilityChild {
  readonly pid: number | undefined;
  postMessage(message: unknown): void;
  kill(): boolean;
  on(event: 'message', listener: (message: unknown) => void): unknown;
  on(event: 'spawn', listener: () => void): unknown;
  on(event: 'exit', listener: (code: number) => void): unknown;
  on(event: 'error', listener: (type: string, location: string, report: string) => void): unknown;
}

/** What this adapter needs of Electron's `utilityProcess` module (injected, so tests need no Electron). */
export interface UtilityProcessModule {
  fork(modulePath: string, args?: string[], options?: ForkOptions): UtilityChild;
}

export interface UtilityWorkerOptions {
  /** Sends a signal to a pid; `process.kill` unless a test fakes it. */
  sendKill?: (pid: number, signal: NodeJS.Signals) => void;
  graceMs?: number;
  log?: (line: string) => void;
  /** Flags for the utility process; default: the supervisor's V8 flags (engine/vm/supervision/supervisor-flags.ts). */
  execArgv?: string[];
}

/**
 * The Electron side of the engine's worker interface: one utilityProcess per VM supervisor.
 * (The run-as-node fuse is off, so child_process.fork of the app binary is not an option.)
 * `kill()` asks politely (UtilityProcess.kill is SIGTERM) and sends SIGKILL after the grace period.
 */
export function utilityWorkerFactory(utility: UtilityProcessModule, options: UtilityWorkerOptions = {}): WorkerFactory {
  const sendKill = options.sendKill ?? ((pid: number, signal: NodeJS.Signals) => process.kill(pid, signal));
  const graceMs = options.graceMs ?? KILL_GRACE_MS;
  return <In, Out>(entry: WorkerEntry): VmWorker<In, Out> => {
    const child = utility.fork(entry.modulePath, [...(entry.args ?? [])], {
      env: entry.env ?? process.env,
      serviceName: entry.name,
      stdio: 'inherit',
      execArgv: options.execArgv ?? supervisorUtilityExecArgv(),
    });
    const events = new WorkerEvents<Out>();
    let exit: WorkerExit | undefined;
    let killRequested = false;
    let killTimer: NodeJS.Timeout | undefined;
    // UtilityProcess.pid is undefined before 'spawn' and again after 'exit'; log lines want it after.
    let knownPid = child.pid;

    const escalate = () => {
      child.kill();
      killTimer = setTimeout(() => {
        if (exit || knownPid === undefined) return;
        options.log?.(`[${entry.name} pid ${knownPid}] did not end ${graceMs} ms after SIGTERM; sending SIGKILL`);
        try {
          sendKill(knownPid, 'SIGKILL');
        } catch {
          // Gone between the check and the signal.
        }
      }, graceMs);
      killTimer.unref();
    };

    child.on('spawn', () => {
      knownPid = child.pid ?? knownPid;
      // kill() before the process existed: do it now.
      if (killRequested && !exit && killTimer === undefined) escalate();
    });
    child.on('message', (message: unknown) => {
      if (!exit) events.emitMessage(message as Out);
    });
    child.on('error', (type: string, location: string) => {
      // A fatal V8 error; 'exit' follows and tells the manager.
      options.log?.(`[${entry.name} pid ${knownPid ?? '?'}] ${type} at ${location}`);
    });
    child.on('exit', (code: number) => {
      if (exit) return;
      clearTimeout(killTimer);
      // UtilityProcess reports no signal: a death we did not ask for shows as a non-zero code.
      exit = classifyExit(code, null, killRequested);
      events.emitExit(exit);
    });

    return {
      get pid() {
        return child.pid ?? knownPid;
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
        if (child.pid !== undefined) escalate();
      },
    } as VmWorker<In, Out>;
  };
}
