import { randomBytes } from 'node:crypto';
import { EngineError } from '../../../api/errors';
import type { QmpClient, QmpJobInfo, QmpJobType, SnapshotJobArgs } from '../../../qemu/qmp';

/** QEMU's job types for internal snapshots. */
export type SnapshotJobCommand = Extract<QmpJobType, 'snapshot-save' | 'snapshot-load' | 'snapshot-delete'>;

export interface SnapshotJobOptions {
  /** Asks QEMU to cancel the job (`job-cancel`). */
  signal?: AbortSignal;
  /** Fraction done, 0–1, as QEMU reports it. */
  onProgress?: (fraction: number) => void;
  /** Overall budget; a VM with lots of memory takes a while. Default 30 min. */
  timeoutMs?: number;
}

export interface SnapshotJobOutcome {
  /** A cancel was asked for while the job ran. It may still have finished (see `completed`). */
  cancelRequested: boolean;
  /** The job did what it was asked: QEMU reported it concluded without an error. */
  completed: boolean;
}

const POLL_MS = 50;
// snapshot-save runs in QEMU's main loop: the monitor answers only after the state is written.
const QUERY_TIMEOUT_MS = 10 * 60_000;

const VERB: Record<SnapshotJobCommand, string> = {
  'snapshot-save': 'Saving the snapshot',
  'snapshot-load': 'Loading the snapshot',
  'snapshot-delete': 'Deleting the snapshot',
};

/**
 * Runs one of QEMU's snapshot jobs (internal qcow2 snapshots, QEMU ≥ 6.0) to its end: starts it,
 * follows it with `query-jobs`, cancels it on request, dismisses it, and throws QEMU's reason
 * when it fails. A job QEMU finished despite a cancel is reported as completed.
 */
export async function runSnapshotJob(qmp: QmpClient, command: SnapshotJobCommand, args: SnapshotJobArgs, options: SnapshotJobOptions = {}): Promise<SnapshotJobOutcome> {
  if (options.signal?.aborted) throw new EngineError('cancelled', `${VERB[command]} was cancelled before it started.`);
  const jobId = `vd-${command}-${randomBytes(4).toString('hex')}`;
  await startJob(qmp, command, jobId, args);
  let cancelRequested = false;
  const onAbort = () => {
    cancelRequested = true;
    void qmp.jobCancel(jobId).catch(() => undefined);
  };
  options.signal?.addEventListener('abort', onAbort, { once: true });
  // A cancel that came while QEMU was being asked to start the job fired no listener yet.
  if (options.signal?.aborted) onAbort();
  const deadline = Date.now() + (options.timeoutMs ?? 30 * 60_000);
  let job: QmpJobInfo | undefined;
  try {
    for (;;) {
      const jobs = await qmp.queryJobs({ timeoutMs: QUERY_TIMEOUT_MS });
      job = jobs.find((candidate) => candidate.id === jobId);
      if (!job) throw new EngineError('internal', `${VERB[command]}: QEMU lost track of job ${jobId}.`);
      if (job['total-progress'] > 0) options.onProgress?.(Math.min(1, job['current-progress'] / job['total-progress']));
      if (job.status === 'concluded') break;
      if (Date.now() > deadline) {
        onAbort();
        throw new EngineError('timeout', `${VERB[command]} did not finish in time (job ${jobId} is ${job.status}).`, { hint: 'The VM may be very large or the host overloaded; try again.' });
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    if (job?.status === 'concluded') await qmp.jobDismiss(jobId).catch(() => undefined);
  }
  if (job.error !== undefined) {
    if (cancelRequested && /cancel/i.test(job.error)) return { cancelRequested, completed: false };
    throw new EngineError('qemu-error', `${VERB[command]} failed: ${job.error}`, { details: { command, jobId, error: job.error } });
  }
  return { cancelRequested, completed: true };
}

function startJob(qmp: QmpClient, command: SnapshotJobCommand, jobId: string, args: SnapshotJobArgs): Promise<void> {
  if (command === 'snapshot-delete') return qmp.snapshotDelete(jobId, args);
  if (args.vmstate === undefined) throw new EngineError('internal', `${VERB[command]}: no node named for the VM state.`);
  const withState = { ...args, vmstate: args.vmstate };
  return command === 'snapshot-save' ? qmp.snapshotSave(jobId, withState) : qmp.snapshotLoad(jobId, withState);
}
