import { QmpClient, type ShutdownCause, type VmDomainEvent } from '../../qemu/qmp';
import { findRunningQemu, isAlive, waitForExit } from '../runtime/pidfile';
import { extractQemuMessage } from '../runtime/qemu-errors';
import { vmStateOfRunState } from '../states';
import { clearAfterExit, vmRuntimePaths, type VmRuntimePaths } from '../runtime/paths';
import { readLastExit, readRuntimeRecord, readStopIntent, writeLastExit } from '../runtime/records';
import { SerialMux } from './serial-mux/serial-mux';
import { VmStatsCollector } from '../stats/collector';
import { stateAfterExit, type ExitReason, type VmState } from '../states';
import type { AttachRequest, SupervisorToHost } from './supervisor-protocol';
import { lstat, open } from 'node:fs/promises';

export interface SupervisorOptions extends Omit<AttachRequest, 'type'> {
  send: (message: SupervisorToHost) => void;
  /** Budget to connect to QMP (the socket may still be appearing right after a start). */
  connectTimeoutMs?: number;
  /** How long QEMU may linger after its QMP connection closed before we call it hung. */
  exitWaitMs?: number;
}

const MUX_RETRY_MIN_MS = 1000;

/** Milliseconds from `now` to the next wall-clock multiple of `intervalMs` (never 0: at least 1). */
export function statsDelay(now: number, intervalMs: number): number {
  return intervalMs - (now % intervalMs) || intervalMs;
}
const MUX_RETRY_MAX_MS = 30_000;

/** What we saw before QEMU went away, for telling a shutdown from a crash. */
interface Observed {
  shutdown?: { byGuest: boolean; cause: ShutdownCause };
  powerdownRequested: boolean;
  panicked: boolean;
}

async function readLogSince(path: string, offset: number): Promise<string> {
  try {
    const handle = await open(path, 'r');
    try {
      const { size } = await handle.stat();
      const start = Math.max(offset, size - 16 * 1024);
      const buffer = Buffer.alloc(Math.max(0, size - start));
      await handle.read(buffer, 0, buffer.length, start);
      return buffer.toString('utf8');
    } finally {
      await handle.close();
    }
  } catch {
    return '';
  }
}

/**
 * Why QEMU ended, from what was observed (QMP events), left behind (a stop intent, QEMU's log)
 * and nothing else: a non-child's exit status cannot be read.
 */
export function decideExitReason(observed: Observed, intent: { forced: boolean } | undefined, logTail: string): ExitReason {
  const shutdown = observed.shutdown;
  const logMessage = logTail.replace(/^.*terminating on signal.*$/gm, '').trim();
  const signal = /terminating on signal (\d+)(?: from pid (\d+))?/.exec(logTail);
  if (shutdown) {
    switch (shutdown.cause) {
      case 'guest-shutdown':
        return observed.powerdownRequested || intent ? { kind: 'user-stopped', forced: false } : { kind: 'guest-shutdown' };
      case 'host-qmp-quit':
        return { kind: 'user-stopped', forced: true };
      case 'host-signal':
        if (intent) return { kind: 'user-stopped', forced: true };
        return { kind: 'killed', message: signal ? `QEMU was terminated by signal ${signal[1]}${signal[2] ? ` from pid ${signal[2]}` : ''}` : 'QEMU was terminated by a signal' };
      case 'guest-panic':
        return { kind: 'qemu-crashed', message: 'the guest kernel panicked and QEMU powered the VM off' };
      case 'host-error':
        return { kind: 'qemu-crashed', message: logMessage || 'QEMU stopped on a host error' };
      default:
        return shutdown.byGuest ? { kind: 'guest-shutdown' } : { kind: 'user-stopped', forced: false };
    }
  }
  if (intent) return { kind: 'user-stopped', forced: intent.forced };
  if (logMessage) return { kind: 'qemu-crashed', message: logMessage.split('\n').slice(-5).join(' ') };
  if (signal) return { kind: 'killed', message: `QEMU was terminated by signal ${signal[1]}${signal[2] ? ` from pid ${signal[2]}` : ''}` };
  return { kind: 'killed', message: 'QEMU ended without shutting down and left no message (killed with SIGKILL, e.g. kill -9 or the OOM killer, or crashed hard)' };
}

/**
 * Watches one running VM: holds the supervisor QMP socket, turns QMP events into state changes,
 * samples stats, and when QEMU ends works out why, records it and says so. Runs in its own
 * process (supervisor-main.ts) but knows nothing of processes: tests run it in-process.
 */
export class VmSupervisor {
  readonly #options: SupervisorOptions;
  readonly #paths: VmRuntimePaths;
  #qmp: QmpClient | undefined;
  #pid: number | undefined;
  #state: VmState = 'starting';
  #observed: Observed = { powerdownRequested: false, panicked: false };
  #statsTimer: NodeJS.Timeout | undefined;
  #statsIntervalMs = 0;
  #sampling = false;
  #stats: VmStatsCollector | undefined;
  #detached = false;
  /** QEMU's single serial connection, shared with any number of viewers. */
  #mux: SerialMux | undefined;
  #muxRetry: NodeJS.Timeout | undefined;
  #muxRetryMs = MUX_RETRY_MIN_MS;
  /** The last attempt failed (and said so); further failures in a row stay quiet. */
  #muxFailing = false;
  #finished: Promise<void>;
  #finish!: () => void;

  constructor(options: SupervisorOptions) {
    this.#options = options;
    this.#paths = vmRuntimePaths(options.home, options.vmId, options.runtimeEnv);
    this.#finished = new Promise((resolve) => (this.#finish = resolve));
  }

  get state(): VmState {
    return this.#state;
  }

  get pid(): number | undefined {
    return this.#pid;
  }

  /** Resolves when QEMU has ended and been accounted for, or after detach(). */
  get finished(): Promise<void> {
    return this.#finished;
  }

  async attach(): Promise<void> {
    const pid = await findRunningQemu(this.#paths);
    if (pid === undefined) {
      const last = await readLastExit(this.#paths);
      const reason = last?.reason ?? null;
      this.#state = reason ? stateAfterExit(reason) : 'stopped';
      this.#options.send({ type: 'exited', pid: last?.pid ?? null, state: this.#state, reason });
      this.#finish();
      return;
    }
    this.#pid = pid;
    const qmp = await QmpClient.connect(this.#paths.qmpSocket, { timeoutMs: this.#options.connectTimeoutMs ?? 15_000, waitForSocket: true });
    this.#qmp = qmp;
    qmp.onEvent((event) => this.#onEvent(event));
    qmp.onClose(() => void this.#onClose());
    const status = await qmp.queryStatus();
    this.#state = vmStateOfRunState(status.state);
    if (status.state === 'shutdown') this.#observed.shutdown = { byGuest: true, cause: 'guest-shutdown' };
    // Before 'attached': a viewer opened as soon as the host sees the VM watched finds the mux.
    await this.#startSerialMux();
    this.#options.send({ type: 'attached', pid, state: this.#state });
    this.#stats = new VmStatsCollector(pid, qmp);
    this.setStatsInterval(this.#options.statsIntervalMs);
  }

  /**
   * Samples every `ms` (0 stops), at wall-clock multiples of `ms`: every supervisor of this host
   * then wakes at the same moments, so the host receives all VMs' samples together and can pass
   * them on as one event.
   */
  setStatsInterval(ms: number): void {
    this.#statsIntervalMs = ms;
    clearTimeout(this.#statsTimer);
    this.#statsTimer = undefined;
    const stats = this.#stats;
    if (ms <= 0 || !stats || this.#detached) return;
    // A first sample at once, as a baseline: the CPU rate needs two. The first tick then comes at
    // least half an interval later, so its rate is not taken over a few milliseconds.
    const now = Date.now();
    let at = now + statsDelay(now, ms);
    if (!this.#sampling) {
      this.#sampling = true;
      void stats.sample().finally(() => (this.#sampling = false));
      if (at - now < ms / 2) at += ms;
    }
    this.#scheduleStats(at);
  }

  /** Next sample at wall-clock time `at`. */
  #scheduleStats(at: number): void {
    const timer: NodeJS.Timeout = setTimeout(() => void this.#sampleStats(timer, at), Math.max(1, at - Date.now()));
    this.#statsTimer = timer;
  }

  async #sampleStats(timer: NodeJS.Timeout, at: number): Promise<void> {
    const stats = this.#stats;
    if (!stats || this.#detached) return;
    // A sample still waiting for QEMU (busy, or stopped in a debugger) is not overtaken.
    if (!this.#sampling) {
      this.#sampling = true;
      try {
        const sample = await stats.sample();
        if (sample && !this.#detached && this.#stats === stats) this.#options.send({ type: 'stats', stats: sample });
      } finally {
        this.#sampling = false;
      }
    }
    // Unless stopped or rescheduled meanwhile. From the planned time, not the clock: a timer may
    // fire a little early by the wall clock.
    if (this.#statsTimer !== timer) return;
    const ms = this.#statsIntervalMs;
    const now = Date.now();
    this.#scheduleStats(at + ms > now ? at + ms : now + statsDelay(now, ms));
  }

  #stopStats(): void {
    clearTimeout(this.#statsTimer);
    this.#statsTimer = undefined;
    this.#stats?.close();
    this.#stats = undefined;
  }

  /** Stops watching without touching QEMU. */
  async detach(): Promise<void> {
    this.#detached = true;
    this.#stopStats();
    await this.#stopSerialMux();
    await this.#qmp?.close().catch(() => undefined);
    this.#finish();
  }

  #setState(state: VmState): void {
    if (state === this.#state) return;
    this.#state = state;
    this.#options.send({ type: 'state', state, at: Date.now() });
  }

  #onEvent(event: VmDomainEvent): void {
    this.#options.send({ type: 'event', event });
    switch (event.type) {
      case 'balloonChanged':
        this.#stats?.balloonChanged(event.actualBytes);
        break;
      case 'paused':
        this.#setState(this.#observed.shutdown ? 'shutting-down' : 'paused');
        break;
      case 'resumed':
        // A reboot (shutdown paused by set-action, reset, cont) ends here: the guest runs again.
        this.#observed.shutdown = undefined;
        this.#observed.powerdownRequested = false;
        this.#setState('running');
        break;
      case 'powerdownRequested':
        this.#observed.powerdownRequested = true;
        this.#setState('shutting-down');
        break;
      case 'shutdown':
        this.#observed.shutdown = { byGuest: event.byGuest, cause: event.cause };
        this.#setState('shutting-down');
        break;
      case 'guestPanicked':
        this.#observed.panicked = true;
        break;
      default:
        break;
    }
  }

  /** Runs the serial multiplexer when the VM has a serial console; trouble only costs the sharing. */
  async #startSerialMux(): Promise<void> {
    this.#muxRetry = undefined;
    if (this.#detached || this.#mux || this.#pid === undefined) return;
    const hasSerial = await lstat(this.#paths.serialSocket).then((info) => info.isSocket(), () => false);
    if (!hasSerial || !(await isAlive(this.#pid)) || this.#detached) return;
    try {
      const mux = await SerialMux.open({
        upstreamPath: this.#paths.serialSocket,
        listenPath: this.#paths.serialMuxSocket,
        logPath: this.#paths.serialLog,
        onNote: (message) => this.#options.send({ type: 'error', message: `serial console: ${message}`, fatal: false }),
      });
      if (this.#detached) {
        await mux.close();
        return;
      }
      this.#mux = mux;
      this.#muxRetryMs = MUX_RETRY_MIN_MS;
      this.#muxFailing = false;
      void mux.closed.then((end) => {
        if (this.#mux === mux) this.#mux = undefined;
        // QEMU closed the connection: it is ending (the QMP close accounts for that) or it dropped
        // us; try again while it lives.
        if (end === 'upstream-closed') this.#retrySerialMux();
      });
    } catch (error) {
      if (!this.#muxFailing) {
        this.#muxFailing = true;
        this.#options.send({ type: 'error', message: `serial console is not shared (viewers fall back to QEMU's socket, one at a time): ${(error as Error).message}`, fatal: false });
      }
      this.#retrySerialMux();
    }
  }

  #retrySerialMux(): void {
    if (this.#detached || this.#muxRetry) return;
    this.#muxRetry = setTimeout(() => void this.#startSerialMux(), this.#muxRetryMs);
    this.#muxRetry.unref();
    this.#muxRetryMs = Math.min(this.#muxRetryMs * 2, MUX_RETRY_MAX_MS);
  }

  async #stopSerialMux(): Promise<void> {
    clearTimeout(this.#muxRetry);
    this.#muxRetry = undefined;
    const mux = this.#mux;
    this.#mux = undefined;
    await mux?.close();
  }

  async #onClose(): Promise<void> {
    this.#stopStats();
    if (this.#detached) return;
    const pid = this.#pid!;
    await this.#stopSerialMux();
    if (!(await waitForExit(pid, this.#options.exitWaitMs ?? 10_000))) {
      this.#options.send({ type: 'error', message: `QMP closed but QEMU (pid ${pid}) is still running; re-attach needed`, fatal: true });
      this.#finish();
      return;
    }
    const [intent, runtime, recorded] = await Promise.all([readStopIntent(this.#paths), readRuntimeRecord(this.#paths), readLastExit(this.#paths)]);
    const logTail = await readLogSince(this.#paths.qemuLog, runtime?.pid === pid ? runtime.qemuLogOffset : Number.MAX_SAFE_INTEGER);
    let reason = decideExitReason(this.#observed, intent?.pid === pid ? intent : undefined, extractQemuMessage(logTail, 'qemu-system-x86_64'));
    // Whoever stopped it on purpose may have recorded it already; their word is first-hand.
    if (recorded?.pid === pid) reason = recorded.reason;
    else await writeLastExit(this.#paths, { pid, at: new Date().toISOString(), reason });
    await clearAfterExit(this.#paths, pid);
    this.#state = stateAfterExit(reason);
    this.#options.send({ type: 'exited', pid, state: this.#state, reason });
    this.#finish();
  }
}
