import { describe, expect, it } from 'vitest';
import { runSnapshotJob } from '../../../engine/vm/ops/snapshots';
import { fakeQemuClient } from '../qmp/fake-qmp-server';

describe('runSnapshotJob cancelled while QEMU is asked to start it', () => {
  // The UI's Cancel can arrive while `snapshot-save` itself is in flight (QEMU answers it late
  // when its main loop is busy): that abort fires before the job is followed, and must still count.
  it('cancels the job that just started', async () => {
    const controller = new AbortController();
    const commands: string[] = [];
    let jobId = '';
    let cancelled = false;
    const { client: qmp, stop } = await fakeQemuClient((message, peer) => {
      const command = String(message['execute']);
      const args = (message['arguments'] ?? {}) as Record<string, unknown>;
      commands.push(command);
      if (command === 'snapshot-save') {
        jobId = String(args['job-id']);
        controller.abort();
      }
      if (command === 'job-cancel') cancelled = true;
      if (command === 'query-jobs') {
        peer.reply(message['id'], [{ id: jobId, type: 'snapshot-save', status: 'concluded', 'current-progress': 0, 'total-progress': 1, ...(cancelled ? { error: 'Job was cancelled' } : {}) }]);
        return;
      }
      peer.reply(message['id'], {});
    });
    const outcome = await runSnapshotJob(qmp, 'snapshot-save', { tag: 't', vmstate: 'a', devices: ['a'] }, { signal: controller.signal }).finally(stop);
    expect(commands.slice(0, 2)).toEqual(['snapshot-save', 'job-cancel']);
    expect(outcome).toEqual({ cancelRequested: true, completed: false });
  });
});
