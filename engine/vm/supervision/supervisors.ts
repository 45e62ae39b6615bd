import { basename, dirname } from 'node:path';
import type { VmDefinition } from '../../model';
import type { NetworkManager } from '../../network/network-manager';
import { releaseNicBackends } from '../../network/nic-backends';
import type { VmCatalog } from '../definitions/catalog';
import type { VmRegistry } from '../definitions/registry';
import type { VmManagerEvent } from '../read-model';
import { findRunningQemu, hasPidFile } from '../runtime/pidfile';
import { existingRunDirs, type VmRuntimePaths } from '../runtime/paths';
import { readRuntimeRecord, type RuntimeRecord } from '../runtime/records';
import { stateReasonText, VmStateMachine, type ExitReason, type VmState } from '../states';
import type { VmStatsSample } from '../stats/collector';
import { RestartPolicy, type RestartPolicyOptions } from './restart-policy';
import type { HostToSupervisor, SupervisorToHost } from './supervisor-protocol';
import type { VmWorker, WorkerFactory } from './worker';

export interface SupervisorsOptions {
  home: string;
  env: NodeJS.ProcessEnv;
  workers: WorkerFactory;
  supervisorEntry: string;
  statsIntervalMs?: number;
  restartPolicy?: Partial<RestartPolicyOptions>;
  networks?: NetworkManager;
  registry: VmRegistry;
  catalog: VmCatalog;
  log: (line: string) => void;
  emit: (event: VmManagerEvent) => void;
}

export interface TrackedVm {
  id: string;
  name: string;
  machine: VmStateMachine;
  pid: number | undefined;
  runtime: RuntimeRecord | undefined;
  worker: VmWorker<HostToSupervisor, SupervisorToHost> | undefined;
  /** The supervisor told us QEMU ended; its exit is expected. */
  workerDone: boolean;
  policy: RestartPolicy;
  restartTimer: NodeJS.Timeout | undefined;
  stats: VmStatsSample | undefined;
  /** An operation of this process is in flight (start, stop): the poller leaves the VM alone. */
  busy: number;
  /** The supervisor kept dying for this QEMU pid; no more re-attach attempts for it. */
  gaveUpOnPid: number | undefined;
  /** QEMU's exit status when this process launched it (it is QEMU's parent). */
  childExit: { pid: number; status: Promise<{ code: number | null; signal: NodeJS.Signals | null }> } | undefined;
  /** Resolved by the supervisor's first word (attached or exited). */
  attachWaiters: (() => void)[];
  /** The current supervisor has attached to QEMU and hears its events. */
  watched: boolean;
  /** When this host saw the VM enter its current state (ms since the epoch): "Shutting down for 2 min". */
  stateSince: number;
}

/**
 * The host's side of supervision: one supervisor process per running VM, re-attached to every
 * running QEMU when the host starts, when a supervisor dies, and when a QEMU started elsewhere (the
 * CLI) appears; each VM's state machine fed from what its supervisor says.
 */
export class Supervisors {
  readonly #options: SupervisorsOptions;
  readonly #tracked = new Map<string, TrackedVm>();
  readonly #paths = new Map<string, VmRuntimePaths>();
  #pollTimer: NodeJS.Timeout | undefined;
  #closed = false;
  #polling: Promise<void> | undefined;

  constructor(options: SupervisorsOptions) {
    this.#options = options;
  }

  /** Starts watching: one scan now (attaching to every running QEMU), then one every `pollIntervalMs`. */
  async open(pollIntervalMs: number): Promise<void> {
    await this.scan();
    this.#pollTimer = setInterval(() => void this.scan(), pollIntervalMs);
    this.#pollTimer.unref();
  }

  /** Stops watching; supervisors detach and every QEMU keeps running. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#pollTimer);
    await this.#polling;
    const exits: Promise<unknown>[] = [];
    for (const tracked of this.#tracked.values()) {
      clearTimeout(tracked.restartTimer);
      const worker = tracked.worker;
      if (worker && !worker.exit) {
        exits.push(new Promise((resolve) => worker.on('exit', resolve)));
        tracked.workerDone = true;
        worker.postMessage({ type: 'detach' });
        setTimeout(() => worker.kill(), 2000).unref();
      }
    }
    await Promise.all(exits);
  }

  /** The VM as this host tracks it, if it does. */
  get(id: string): TrackedVm | undefined {
    return this.#tracked.get(id);
  }

  /** Forgets a deleted VM. */
  forget(id: string): void {
    this.#tracked.delete(id);
  }

  track(def: VmDefinition, state: VmState, reason: ExitReason | undefined): TrackedVm {
    let tracked = this.#tracked.get(def.id);
    if (tracked) {
      tracked.name = def.name;
      return tracked;
    }
    const machine = new VmStateMachine(state, reason);
    tracked = {
      id: def.id,
      name: def.name,
      machine,
      pid: undefined,
      runtime: undefined,
      worker: undefined,
      workerDone: false,
      policy: new RestartPolicy(this.#options.restartPolicy),
      restartTimer: undefined,
      stats: undefined,
      busy: 0,
      gaveUpOnPid: undefined,
      childExit: undefined,
      attachWaiters: [],
      watched: false,
      stateSince: Date.now(),
    };
    const entry = tracked;
    machine.onChange((next, why) => {
      entry.stateSince = Date.now();
      this.#options.emit({
        type: 'vm.state',
        id: def.id,
        state: next,
        stateReason: stateReasonText(next, why, this.#options.catalog.summaryOf(def.id)?.savedAt ?? null),
        ...(next === 'shutting-down' ? { stateSince: new Date(entry.stateSince).toISOString() } : {}),
      });
    });
    this.#tracked.set(def.id, tracked);
    return tracked;
  }

  #stateReason(tracked: TrackedVm): string | null {
    return stateReasonText(tracked.machine.state, tracked.machine.exitReason, this.#options.catalog.summaryOf(tracked.id)?.savedAt ?? null);
  }

  /** Brings the tracked set in line with the store and the running QEMUs. */
  scan(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#polling ??= this.#doScan().finally(() => (this.#polling = undefined));
    return this.#polling;
  }

  /** Runtime paths by VM id (they depend only on the id, the home and the environment). */
  #pathsOf(def: Pick<VmDefinition, 'id'>): VmRuntimePaths {
    let paths = this.#paths.get(def.id);
    if (!paths) this.#paths.set(def.id, (paths = this.#options.registry.paths(def)));
    return paths;
  }

  async #doScan(): Promise<void> {
    const defs = this.#options.catalog.definitions();
    const ids = new Set(defs.map((def) => def.id));
    for (const [id, tracked] of this.#tracked) {
      if (!ids.has(id) && !tracked.worker) this.#tracked.delete(id);
    }
    for (const id of this.#paths.keys()) if (!ids.has(id)) this.#paths.delete(id);
    const runDirs = await existingRunDirs(defs.map((def) => this.#pathsOf(def)));
    await Promise.all(
      defs.map(async (def) => {
        const known = this.#tracked.get(def.id);
        if (known && (known.busy > 0 || (known.worker && !known.worker.exit) || known.restartTimer)) {
          known.name = def.name;
          return;
        }
        if (this.#closed) return;
        // Host start: a save killed while nobody hosted the VM left its guest paused.
        if (!known) await this.#options.registry.recoverInterrupted(def);
        const paths = this.#pathsOf(def);
        const pid = runDirs.has(`${dirname(paths.runDir)}/${basename(paths.runDir)}`) && hasPidFile(paths) ? await findRunningQemu(paths) : undefined;
        if (!known) {
          // First sight: a stopped VM's state comes from its last-exit record.
          const status = pid === undefined ? await this.#options.registry.status(def) : undefined;
          const existed = this.#tracked.has(def.id);
          const tracked = this.track(def, status?.state ?? 'running', status?.exitReason);
          // Lists answered before this scan said "stopped"; say otherwise if it is not.
          if (!existed && (tracked.machine.state !== 'stopped' || tracked.machine.exitReason)) {
            this.#options.emit({ type: 'vm.state', id: def.id, state: tracked.machine.state, stateReason: this.#stateReason(tracked) });
          }
          if (pid !== undefined) this.attach(tracked, pid);
          return;
        }
        if (pid !== undefined) {
          if (known.gaveUpOnPid === pid) return;
          if (known.pid !== pid) {
            // Started by another process (the CLI): say so now, before the supervisor is up.
            const status = await this.#options.registry.status(def);
            if (status.pid === pid) known.machine.reset(status.state);
          }
          this.attach(known, pid);
        } else if (known.machine.state !== 'stopped' && known.machine.state !== 'crashed') {
          // It ended while nobody here watched (e.g. between a supervisor's death and its restart).
          const status = await this.#options.registry.status(def);
          known.machine.reset(status.state, status.exitReason);
          known.pid = undefined;
        }
      }),
    );
  }

  attach(tracked: TrackedVm, pid: number): void {
    if (this.#closed || (tracked.worker && !tracked.worker.exit)) return;
    tracked.pid = pid;
    tracked.workerDone = false;
    tracked.watched = false;
    const worker = this.#options.workers<HostToSupervisor, SupervisorToHost>({ modulePath: this.#options.supervisorEntry, name: `vm ${tracked.name}` });
    tracked.worker = worker;
    tracked.policy.started();
    worker.on('message', (message) => {
      // A supervisor replaced since (restart, new start) has nothing to say any more.
      if (tracked.worker === worker || message.type === 'exited') this.#onSupervisorMessage(tracked, message);
    });
    worker.on('exit', (exit) => {
      if (tracked.worker === worker) {
        tracked.worker = undefined;
        tracked.watched = false;
      }
      if (tracked.workerDone || this.#closed) return;
      this.#options.log(`[vm ${tracked.name} ${tracked.id.slice(0, 8)} supervisor pid ${worker.pid}] ended unexpectedly (${exit.kind}${exit.kind === 'crashed' ? `, ${exit.signal ?? `code ${exit.code}`}` : ''}); re-attaching`);
      const delay = tracked.policy.crashed();
      if (delay === undefined) {
        this.#options.log(`[vm ${tracked.name}] supervisor keeps failing; not re-attaching to QEMU pid ${pid} again`);
        tracked.gaveUpOnPid = pid;
        return;
      }
      tracked.restartTimer = setTimeout(() => {
        tracked.restartTimer = undefined;
        void this.scan();
      }, delay);
      tracked.restartTimer.unref();
    });
    const env = this.#options.env;
    const runtimeEnv: { VIRTDESK_RUNTIME_DIR?: string; XDG_RUNTIME_DIR?: string } = {};
    if (env.VIRTDESK_RUNTIME_DIR) runtimeEnv.VIRTDESK_RUNTIME_DIR = env.VIRTDESK_RUNTIME_DIR;
    if (env.XDG_RUNTIME_DIR) runtimeEnv.XDG_RUNTIME_DIR = env.XDG_RUNTIME_DIR;
    worker.postMessage({ type: 'attach', vmId: tracked.id, vmName: tracked.name, home: this.#options.home, runtimeEnv, statsIntervalMs: this.#options.statsIntervalMs ?? 2000 });
  }

  #onSupervisorMessage(tracked: TrackedVm, message: SupervisorToHost): void {
    switch (message.type) {
      case 'attached':
        for (const resolve of tracked.attachWaiters.splice(0)) resolve();
        tracked.watched = true;
        tracked.pid = message.pid;
        tracked.machine.reset(message.state);
        void readRuntimeRecord(this.#options.registry.paths(tracked)).then((record) => {
          if (record?.pid === message.pid) tracked.runtime = record;
        });
        break;
      case 'state':
        // After a stop this host already recorded, a late word from the supervisor is stale.
        if (tracked.pid === undefined) break;
        if (!tracked.machine.transition(message.state)) tracked.machine.reset(message.state);
        break;
      case 'event':
        this.#options.emit({ type: 'vm.event', id: tracked.id, event: message.event });
        break;
      case 'stats':
        tracked.stats = message.stats;
        this.#options.emit({ type: 'vm.stats', id: tracked.id, stats: message.stats });
        break;
      case 'exited': {
        for (const resolve of tracked.attachWaiters.splice(0)) resolve();
        if (message.pid !== null && tracked.pid !== undefined && message.pid !== tracked.pid) break;
        const endedPid = message.pid ?? tracked.pid;
        tracked.workerDone = true;
        tracked.pid = undefined;
        tracked.runtime = undefined;
        tracked.stats = undefined;
        tracked.policy.reset();
        this.releaseNics(tracked.id);
        // A save (perhaps by the CLI) ends with a saved state to show in the list.
        void this.#options.catalog.refreshExtras(tracked.id).catch(() => undefined);
        if (message.reason === null && tracked.childExit !== undefined && tracked.childExit.pid === endedPid) {
          // QEMU died before the supervisor could watch it; as its parent we know how.
          void this.#reasonFromChildExit(tracked.childExit.status).then((reason) => tracked.machine.reset(reason ? 'crashed' : message.state, reason));
        } else {
          tracked.machine.reset(message.state, message.reason ?? undefined);
        }
        break;
      }
      case 'error':
        this.#options.log(`[vm ${tracked.name} ${tracked.id.slice(0, 8)} supervisor] ${message.message}`);
        break;
    }
  }

  async #reasonFromChildExit(status: Promise<{ code: number | null; signal: NodeJS.Signals | null }>): Promise<ExitReason | undefined> {
    const exit = await Promise.race([status, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 2000).unref())]);
    if (!exit) return undefined;
    if (exit.signal) return { kind: 'killed', message: `QEMU was killed by ${exit.signal}` };
    if (exit.code !== 0) return { kind: 'qemu-crashed', message: `QEMU exited with code ${exit.code}` };
    return undefined;
  }

  /** Resolves once the VM's supervisor has attached (or found QEMU gone), or after `timeoutMs`. */
  whenAttached(tracked: TrackedVm, timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      timer.unref();
      tracked.attachWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /**
   * Resolves once the supervisor of a run that just ended (a stop or save a moment ago) has exited,
   * so its last word cannot land on the next run; at most `timeoutMs`.
   */
  supervisorGone(tracked: TrackedVm, timeoutMs: number): Promise<void> {
    const worker = tracked.worker;
    if (!worker || worker.exit) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      timer.unref();
      worker.on('exit', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  async ensureTracked(ref: string): Promise<{ def: VmDefinition; tracked: TrackedVm }> {
    const def = await this.#options.registry.resolve(ref);
    let tracked = this.#tracked.get(def.id);
    if (!tracked) {
      await this.scan();
      tracked = this.#tracked.get(def.id);
      if (!tracked) {
        const status = await this.#options.registry.status(def);
        tracked = this.track(def, status.state, status.exitReason);
      }
    }
    return { def, tracked };
  }

  async busy<T>(tracked: TrackedVm, fn: () => Promise<T>): Promise<T> {
    tracked.busy += 1;
    try {
      return await fn();
    } finally {
      tracked.busy -= 1;
    }
  }

  /** The state as this host knows it (no I/O). */
  stateOf(id: string): VmState | undefined {
    return this.#tracked.get(id)?.machine.state;
  }

  /** True once a supervisor has attached to the VM's QEMU and hears its events. */
  isWatched(id: string): boolean {
    return this.#tracked.get(id)?.watched ?? false;
  }

  /** The pid of the supervisor process watching a VM (tests, diagnostics). */
  supervisorPid(id: string): number | undefined {
    const worker = this.#tracked.get(id)?.worker;
    return worker && !worker.exit ? worker.pid : undefined;
  }

  /** Gives back the host side of a VM's NICs once its QEMU is gone (a stop from here does it itself). */
  releaseNics(id: string): void {
    void this.#options.registry.store
      .get(id)
      .then((def) => releaseNicBackends(def, { home: this.#options.home, env: this.#options.env, ...(this.#options.networks ? { networks: this.#options.networks } : {}) }))
      .catch(() => undefined);
  }
}
