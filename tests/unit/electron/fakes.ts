import { EventEmitter } from 'node:events';
import type { UtilityChild, UtilityProcessModule } from '../../../main/electron/utility-worker';

/**
 * Stands in for an Electron UtilityProcess, with its documented behaviour: `pid` is undefined until
 * 'spawn' and again after 'exit'; `kill()` returns false before spawn; messages posted before spawn
 * are queued; a process we killed reports exit code 0 (Electron maps SIGTERM/SIGKILL to 0 then).
 */
export class FakeUtilityChild extends EventEmitter implements UtilityChild {
  pid: number | undefined;
  readonly posted: unknown[] = [];
  killCalls = 0;
  /** What the fake does when killed: exit at once (default) or ignore SIGTERM. */
  ignoresSigterm = false;

  constructor(
    readonly modulePath: string,
    readonly args: string[],
    readonly options: unknown,
    private readonly spawnPid: number,
  ) {
    super();
  }

  spawn(): void {
    this.pid = this.spawnPid;
    this.emit('spawn');
  }

  postMessage(message: unknown): void {
    this.posted.push(message);
    this.emit('posted', message);
  }

  kill(): boolean {
    this.killCalls += 1;
    if (this.pid === undefined) return false;
    if (!this.ignoresSigterm) queueMicrotask(() => this.exit(0));
    return true;
  }

  /** The child sends a message to the host (process.parentPort.postMessage). */
  send(message: unknown): void {
    this.emit('message', message);
  }

  exited = false;

  exit(code: number): void {
    if (this.exited) return;
    this.exited = true;
    this.pid = undefined;
    this.emit('exit', code);
  }
}

export function fakeUtilityProcess(options: { spawnAtOnce?: boolean } = {}): UtilityProcessModule & { children: FakeUtilityChild[] } {
  const children: FakeUtilityChild[] = [];
  return {
    children,
    fork(modulePath, args = [], forkOptions) {
      const child = new FakeUtilityChild(modulePath, args, forkOptions, 40_000 + children.length);
      children.push(child);
      if (options.spawnAtOnce ?? true) queueMicrotask(() => child.spawn());
      return child;
    },
  };
}
