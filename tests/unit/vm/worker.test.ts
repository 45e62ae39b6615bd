import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { forkWorkerFactory, type VmWorker, type WorkerExit } from '../../../engine/vm/supervision/worker';

const ENTRY = fileURLToPath(new URL('./fixtures/echo-worker.ts', import.meta.url));
const factory = forkWorkerFactory({ execArgv: ['--import', 'tsx'] });

type In = { op: string; value?: unknown };
function start(): { worker: VmWorker<In, Record<string, unknown>>; messages: Record<string, unknown>[]; exited: Promise<WorkerExit> } {
  const worker = factory<In, Record<string, unknown>>({ modulePath: ENTRY, name: 'echo' });
  const messages: Record<string, unknown>[] = [];
  worker.on('message', (message) => messages.push(message));
  const exited = new Promise<WorkerExit>((resolve) => worker.on('exit', resolve));
  return { worker, messages, exited };
}

async function until(check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('fork worker adapter', () => {
  it('round-trips messages and reports a clean exit', async () => {
    const { worker, messages, exited } = start();
    await until(() => messages.length > 0);
    worker.postMessage({ op: 'echo', value: { n: 1, big: 2n } });
    await until(() => messages.length > 1);
    expect(messages[1]).toEqual({ echo: { n: 1, big: 2n }, pid: worker.pid });
    worker.postMessage({ op: 'exit' });
    expect(await exited).toEqual({ kind: 'exited' });
    expect(worker.exit).toEqual({ kind: 'exited' });
  });

  it('tells a crash apart from a kill', async () => {
    const crashing = start();
    await until(() => crashing.messages.length > 0);
    crashing.worker.postMessage({ op: 'crash' });
    expect(await crashing.exited).toEqual({ kind: 'crashed', code: 3, signal: null });

    const killed = start();
    await until(() => killed.messages.length > 0);
    killed.worker.kill();
    expect(await killed.exited).toEqual({ kind: 'killed' });

    const external = start();
    await until(() => external.messages.length > 0);
    process.kill(external.worker.pid!, 'SIGKILL');
    expect(await external.exited).toEqual({ kind: 'crashed', code: null, signal: 'SIGKILL' });
  });

  it('escalates to SIGKILL when the worker ignores SIGTERM', async () => {
    const { worker, messages, exited } = start();
    await until(() => messages.length > 0);
    worker.postMessage({ op: 'ignore-term' });
    await until(() => messages.length > 1);
    worker.kill();
    expect(await exited).toEqual({ kind: 'killed' });
  });
});
