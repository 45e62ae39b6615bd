import { afterEach, describe, expect, it, vi } from 'vitest';
import { supervisorUtilityExecArgv } from '../../../engine/vm/supervision/supervisor-flags';
import { utilityWorkerFactory } from '../../../main/electron/utility-worker';
import type { WorkerExit } from '../../../engine/vm/supervision/worker';
import { fakeUtilityProcess } from './fakes';

const entry = { modulePath: '/app/dist/node/supervisor.cjs', name: 'vm demo', env: { VIRTDESK_HOME: '/tmp/h' } };
const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

afterEach(() => {
  vi.useRealTimers();
});

describe('utilityProcess worker adapter', () => {
  it('forks the supervisor module with its env and a service name, and passes messages both ways', async () => {
    const utility = fakeUtilityProcess();
    const worker = utilityWorkerFactory(utility)<{ type: string }, { type: string; n?: number }>(entry);
    const child = utility.children[0]!;
    expect(child.modulePath).toBe('/app/dist/node/supervisor.cjs');
    expect(child.options).toMatchObject({ env: { VIRTDESK_HOME: '/tmp/h' }, serviceName: 'vm demo', stdio: 'inherit' });
    // The supervisor's V8 flags, through the one switch a utility process takes them from.
    expect((child.options as { execArgv?: string[] }).execArgv).toEqual(supervisorUtilityExecArgv());

    // Posted before the process exists: UtilityProcess queues it, the adapter must not drop it.
    worker.postMessage({ type: 'attach' });
    expect(child.posted).toEqual([{ type: 'attach' }]);
    await tick();
    expect(worker.pid).toBe(40_000);

    const received: unknown[] = [];
    worker.on('message', (message) => received.push(message));
    child.send({ type: 'attached', n: 1 });
    child.send({ type: 'stats', n: 2 });
    expect(received).toEqual([{ type: 'attached', n: 1 }, { type: 'stats', n: 2 }]);
  });

  it.each<[string, number, boolean, WorkerExit]>([
    ['a clean exit of its own', 0, false, { kind: 'exited' }],
    ['a non-zero exit (a crash, or a signal nobody here sent)', 9, false, { kind: 'crashed', code: 9, signal: null }],
    ['the end of a process we killed', 0, true, { kind: 'killed' }],
  ])('classifies %s', async (_what, code, weKilled, expected) => {
    const utility = fakeUtilityProcess();
    const worker = utilityWorkerFactory(utility)(entry);
    await tick();
    const exits: WorkerExit[] = [];
    worker.on('exit', (exit) => exits.push(exit));
    const child = utility.children[0]!;
    if (weKilled) {
      child.ignoresSigterm = true;
      worker.kill();
    }
    child.exit(code);
    expect(exits).toEqual([expected]);
    expect(worker.exit).toEqual(expected);
    // Still the pid it had: log lines after the exit name it.
    expect(worker.pid).toBe(40_000);
    // Nothing is sent to a process that is gone.
    worker.postMessage({ late: true });
    expect(child.posted).toEqual([]);
  });

  it('sends SIGKILL when the process ignores the polite kill for the grace period', async () => {
    const utility = fakeUtilityProcess();
    const signals: [number, string][] = [];
    const lines: string[] = [];
    const worker = utilityWorkerFactory(utility, { sendKill: (pid, signal) => signals.push([pid, signal]), graceMs: 3000, log: (line) => lines.push(line) })(entry);
    await tick();
    vi.useFakeTimers();
    const child = utility.children[0]!;
    child.ignoresSigterm = true;
    worker.kill();
    worker.kill();
    expect(child.killCalls).toBe(1);
    vi.advanceTimersByTime(2999);
    expect(signals).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(signals).toEqual([[40_000, 'SIGKILL']]);
    expect(lines.join('\n')).toMatch(/did not end 3000 ms after SIGTERM/);
    child.exit(0);
    expect(worker.exit).toEqual({ kind: 'killed' });
  });

  it('does not escalate when the process ends within the grace period', async () => {
    const utility = fakeUtilityProcess();
    const signals: string[] = [];
    const worker = utilityWorkerFactory(utility, { sendKill: (_pid, signal) => signals.push(signal), graceMs: 3000 })(entry);
    await tick();
    vi.useFakeTimers();
    worker.kill();
    await vi.advanceTimersByTimeAsync(5000);
    expect(worker.exit).toEqual({ kind: 'killed' });
    expect(signals).toEqual([]);
  });

  it('kills a process asked to end before it had spawned, once it has', async () => {
    const utility = fakeUtilityProcess({ spawnAtOnce: false });
    const worker = utilityWorkerFactory(utility)(entry);
    const child = utility.children[0]!;
    worker.kill();
    // UtilityProcess.kill() cannot work without a pid; the adapter must not call it in vain.
    expect(child.killCalls).toBe(0);
    child.spawn();
    expect(child.killCalls).toBe(1);
    await tick();
    expect(worker.exit).toEqual({ kind: 'killed' });
  });

  it('logs a fatal V8 error of the child (the exit that follows tells the manager)', async () => {
    const utility = fakeUtilityProcess();
    const lines: string[] = [];
    const worker = utilityWorkerFactory(utility, { log: (line) => lines.push(line) })(entry);
    await tick();
    utility.children[0]!.emit('error', 'FatalError', 'v8::Something', '{}');
    utility.children[0]!.exit(134);
    expect(lines).toEqual(['[vm demo pid 40000] FatalError at v8::Something']);
    expect(worker.exit).toEqual({ kind: 'crashed', code: 134, signal: null });
  });
});
