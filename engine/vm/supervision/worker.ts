import { fork } from 'node:child_process';

/** Why a worker process ended. */
export type WorkerExit =
  /** It exited by itself with code 0. */
  | { kind: 'exited' }
  /** It died on its own: non-zero exit or a signal nobody here sent. */
  | { kind: 'crashed'; code: number | null; signal: string | null }
  /** We asked it to end with kill(). */
  | { kind: 'killed' };

/**
 * One child process as the host sees it, whichever runtime made it: `child_process.fork` under
 * `serve`, an Electron `utilityProcess` under the app (main/electron implements the same shape).
 */
export interface VmWorker<In, Out> {
  /** The OS pid, once known. */
  readonly pid: number | undefined;
  /** Set once the process ended. */
  readonly exit: WorkerExit | undefined;
  postMessage(message: In): void;
  on(event: 'message', listener: (message: Out) => void): () => void;
  on(event: 'exit', listener: (exit: WorkerExit) => void): () => void;
  /** Ends the process (SIGTERM, then SIGKILL after a grace period). */
  kill(): void;
}

export interface WorkerEntry {
  /** The module the process runs. */
  modulePath: string;
  args?: readonly string[];
  /** For log lines. */
  name: string;
  env?: NodeJS.ProcessEnv;
}

/** Makes workers; each host process provides one. */
export type WorkerFactory = <In, Out>(entry: WorkerEntry) => VmWorker<In, Out>;

const KILL_GRACE_MS = 3000;

/** A listener registry shared by adapters. */
export class WorkerEvents<Out> {
  readonly message = new Set<(message: Out) => void>();
  readonly exit = new Set<(exit: WorkerExit) => void>();

  add(event: 'message' | 'exit', listener: ((message: Out) => void) | ((exit: WorkerExit) => void)): () => void {
    const set = (event === 'message' ? this.message : this.exit) as Set<typeof listener>;
    set.add(listener);
    return () => set.delete(listener);
  }

  emitMessage(message: Out): void {
    for (const listener of [...this.message]) listener(message);
  }

  emitExit(exit: WorkerExit): void {
    for (const listener of [...this.exit]) listener(exit);
  }
}

/** Classifies a process end the way every adapter must. */
export function classifyExit(code: number | null, signal: string | null, killRequested: boolean): WorkerExit {
  if (killRequested) return { kind: 'killed' };
  if (code === 0 && signal === null) return { kind: 'exited' };
  return { kind: 'crashed', code, signal };
}

export interface ForkOptions {
  /** Node flags for the child, e.g. `['--import', 'tsx']` to run TypeScript in tests. */
  execArgv?: string[];
}

/** The `child_process.fork` adapter (used by `virtdesk serve`, the CLI and tests). */
export function forkWorkerFactory(options: ForkOptions = {}): WorkerFactory {
  return <In, Out>(entry: WorkerEntry): VmWorker<In, Out> => {
    const child = fork(entry.modulePath, [...(entry.args ?? [])], {
      env: entry.env ?? process.env,
      execArgv: options.execArgv ?? process.execArgv,
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const events = new WorkerEvents<Out>();
    let exit: WorkerExit | undefined;
    let killRequested = false;
    let killTimer: NodeJS.Timeout | undefined;
    child.on('message', (message) => events.emitMessage(message as Out));
    child.on('error', () => {
      // 'exit' follows for every failure that matters; without a listener 'error' would throw.
    });
    child.once('exit', (code, signal) => {
      clearTimeout(killTimer);
      exit = classifyExit(code, signal, killRequested);
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
        if (exit || !child.connected) return;
        child.send(message as never, (error) => {
          // A send racing the child's exit is not an error worth surfacing; exit tells the story.
          void error;
        });
      },
      on(event: 'message' | 'exit', listener: never) {
        return events.add(event, listener);
      },
      kill() {
        if (exit || killRequested) return;
        killRequested = true;
        child.kill('SIGTERM');
        killTimer = setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
        killTimer.unref();
      },
    } as VmWorker<In, Out>;
  };
}

export { connectToParent, type ParentPort } from './worker-parent';
