import { afterEach, describe, expect, it } from 'vitest';
import type { QmpJobInfo } from '../../../engine/qemu/qmp';
import { runSnapshotJob } from '../../../engine/vm/ops/snapshots';
import { fakeQemuClient } from '../qmp/fake-qmp-server';
import { rejected } from './helpers';

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

/** A real QMP client against a fake QEMU whose job goes through `statuses` one query-jobs at a time. */
async function fakeQmp(statuses: Partial<QmpJobInfo>[], options: { onCancel?: () => void } = {}) {
  const calls: { command: string; args: unknown }[] = [];
  let jobId = '';
  let step = 0;
  const { client: qmp, stop } = await fakeQemuClient((message, peer) => {
    const command = String(message['execute']);
    const args = (message['arguments'] ?? {}) as Record<string, unknown>;
    calls.push({ command, args });
    if (command.startsWith('snapshot-')) jobId = String(args['job-id']);
    if (command === 'job-cancel') options.onCancel?.();
    if (command === 'query-jobs') {
      const status = statuses[Math.min(step++, statuses.length - 1)]!;
      peer.reply(message['id'], [{ id: jobId, type: 'snapshot-save', status: 'running', 'current-progress': 0, 'total-progress': 1, ...status }]);
      return;
    }
    peer.reply(message['id'], {});
  });
  stops.push(stop);
  return { qmp, calls };
}

describe('runSnapshotJob', () => {
  it('starts the job with its own id, follows it with progress and dismisses it', async () => {
    const { qmp, calls } = await fakeQmp([{ status: 'running' }, { status: 'concluded', 'current-progress': 1 }]);
    const progress: number[] = [];
    const outcome = await runSnapshotJob(qmp, 'snapshot-save', { tag: 't', vmstate: 'disk0-fmt', devices: ['disk0-fmt'] }, { onProgress: (f) => progress.push(f) });
    expect(outcome).toEqual({ cancelRequested: false, completed: true });
    const start = calls[0]!;
    expect(start.command).toBe('snapshot-save');
    expect(start.args).toMatchObject({ tag: 't', vmstate: 'disk0-fmt', devices: ['disk0-fmt'], 'job-id': expect.stringMatching(/^vd-snapshot-save-[0-9a-f]{8}$/) });
    expect(progress).toEqual([0, 1]);
    expect(calls.at(-1)).toEqual({ command: 'job-dismiss', args: { id: (start.args as Record<string, string>)['job-id'] } });
  });

  it("throws QEMU's reason when the job fails", async () => {
    const { qmp, calls } = await fakeQmp([{ status: 'concluded', error: "Device 'disk1-fmt' is writable but does not support snapshots" }]);
    const error = await rejected(runSnapshotJob(qmp, 'snapshot-save', { tag: 't', vmstate: 'a', devices: ['a'] }));
    expect(error.code).toBe('qemu-error');
    expect(error.message).toBe("Saving the snapshot failed: Device 'disk1-fmt' is writable but does not support snapshots");
    expect(calls.some((call) => call.command === 'job-dismiss')).toBe(true);
  });

  it('asks QEMU to cancel on abort and reports a job that ended cancelled', async () => {
    const controller = new AbortController();
    let cancelled = false;
    const statuses: Partial<QmpJobInfo>[] = [{ status: 'running' }, { status: 'running' }, { status: 'concluded', error: 'Job was cancelled' }];
    const { qmp, calls } = await fakeQmp(statuses, { onCancel: () => (cancelled = true) });
    setTimeout(() => controller.abort(), 60);
    const outcome = await runSnapshotJob(qmp, 'snapshot-load', { tag: 't', vmstate: 'a', devices: ['a'] }, { signal: controller.signal });
    expect(cancelled).toBe(true);
    expect(outcome).toEqual({ cancelRequested: true, completed: false });
    expect(calls.some((call) => call.command === 'job-cancel')).toBe(true);
  });

  it('refuses to start when already cancelled', async () => {
    const controller = new AbortController();
    controller.abort();
    const { qmp, calls } = await fakeQmp([]);
    expect((await rejected(runSnapshotJob(qmp, 'snapshot-delete', { tag: 't', devices: ['a'] }, { signal: controller.signal }))).code).toBe('cancelled');
    expect(calls).toEqual([]);
  });
});
