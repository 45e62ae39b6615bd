import { EngineError } from '../api/errors';
import type { VmCreateInput, VmDefinition } from '../model';
import type { NicBackend } from '../qemu/argv';
import type { NetworkManager } from '../network/network-manager';
import type { WatchOptions } from '../store';
import { VmCatalog } from './definitions/catalog';
import { VmRegistry, type DeleteOutcome } from './definitions/registry';
import { pauseVm, rebootVm, resetVm, resumeVm, screenshotPng, sendKeysVm, stopVm, type ControlContext, type StopOptions, type StopResult } from './ops/control';
import type { CreateVmOptions } from './ops/create-vm';
import { saveVm, type SaveOptions, type SaveResult } from './ops/save-restore/save';
import { savedAt } from './ops/save-restore/saved-state';
import { startVm } from './ops/start';
import type { StartResume } from './ops/start-resume';
import { VmReadModel, type VmListEntry, type VmManagerEvent, type VmRuntimeInfo } from './read-model';
import type { VmRuntimePaths } from './runtime/paths';
import { assertOperationAllowed, stateReasonText, type VmState } from './states';
import type { VmStatsSample } from './stats/collector';
import type { RestartPolicyOptions } from './supervision/restart-policy';
import { Supervisors, type TrackedVm } from './supervision/supervisors';
import type { WorkerFactory } from './supervision/worker';

export type { VmListEntry, VmManagerEvent, VmRuntimeInfo } from './read-model';

export interface VmManagerOptions {
  home: string;
  env?: NodeJS.ProcessEnv;
  /** Makes supervisor processes (fork under serve, utilityProcess under Electron). */
  workers: WorkerFactory;
  /** The supervisor module the workers run (built: dist/node/supervisor.cjs; tests: engine/vm/supervision/supervisor-main.ts). */
  supervisorEntry: string;
  onEvent?: (event: VmManagerEvent) => void;
  /** 0 turns stats sampling off. Default 2 s. */
  statsIntervalMs?: number;
  /** How often to look for QEMUs started by another process (the CLI). Default 1 s. */
  pollIntervalMs?: number;
  restartPolicy?: Partial<RestartPolicyOptions>;
  /** Virtual networks, for NICs on them (taps made at start, given back at exit). */
  networks?: NetworkManager;
  resolveNicBackends?: (def: VmDefinition, paths: VmRuntimePaths) => Promise<Record<string, NicBackend>>;
  /** Where supervisor trouble is written; default stderr. */
  log?: (line: string) => void;
  /** Timings of the watcher on the VM folder (tests); see WatchOptions. */
  watch?: WatchOptions;
}

/**
 * The VM runtime of a host process (Electron main, `virtdesk serve`): the registry plus one
 * supervisor process per running VM, re-attached to every running QEMU when the host starts, when
 * a supervisor dies, and when a QEMU started elsewhere (the CLI) appears.
 */
export class VmManager {
  readonly registry: VmRegistry;
  readonly #options: VmManagerOptions;
  readonly #catalog: VmCatalog;
  readonly #supervisors: Supervisors;
  readonly #read: VmReadModel;
  #stopWatching: (() => void) | undefined;

  readonly #log: (line: string) => void;

  private constructor(options: VmManagerOptions, registry: VmRegistry, catalog: VmCatalog, log: (line: string) => void) {
    this.#options = options;
    this.#log = log;
    this.registry = registry;
    this.#catalog = catalog;
    const env = options.env ?? process.env;
    this.#supervisors = new Supervisors({
      home: options.home,
      env,
      workers: options.workers,
      supervisorEntry: options.supervisorEntry,
      ...(options.statsIntervalMs === undefined ? {} : { statsIntervalMs: options.statsIntervalMs }),
      ...(options.restartPolicy ? { restartPolicy: options.restartPolicy } : {}),
      ...(options.networks ? { networks: options.networks } : {}),
      registry,
      catalog,
      log,
      emit: (event) => this.#emit(event),
    });
    this.#read = new VmReadModel({
      home: options.home,
      catalog,
      registry,
      ...(options.networks ? { networks: options.networks } : {}),
      live: (id) => this.#supervisors.get(id),
      ensureLive: (ref) => this.#supervisors.ensureTracked(ref),
    });
  }

  /** Creates the manager, loads every definition, and attaches a supervisor to every VM whose QEMU runs. */
  static async open(options: VmManagerOptions): Promise<VmManager> {
    const log = options.log ?? ((text: string) => process.stderr.write(`${text}\n`));
    const registry = new VmRegistry(options.home, options.env ?? process.env, { notify: log });
    const catalog = await VmCatalog.open(registry.store, options.home, { log, ...(options.watch ? { watch: options.watch } : {}) });
    registry.useCatalog(catalog);
    const manager = new VmManager(options, registry, catalog, log);
    const supervisors = manager.#supervisors;
    manager.#stopWatching = catalog.onChange((ids) => {
      manager.#emit({ type: 'vms.changed', ids, summaries: manager.#read.summariesOf(ids) });
      void supervisors.scan();
    });
    try {
      // Host start: clones killed while nobody hosted them left orphan images.
      await registry.recoverInterruptedClones();
      await supervisors.open(options.pollIntervalMs ?? 1000);
    } catch (error) {
      manager.#stopWatching();
      catalog.close();
      throw error;
    }
    return manager;
  }

  /** Stops watching; supervisors detach and every QEMU keeps running. */
  async close(): Promise<void> {
    this.#stopWatching?.();
    this.#catalog.close();
    this.registry.useCatalog(undefined);
    await this.#supervisors.close();
  }

  #emit(event: VmManagerEvent): void {
    this.#options.onEvent?.(event);
  }

  // ---- read model ----

  /** Every VM, sorted by name, from memory (see VmReadModel.list). */
  async list(): Promise<VmListEntry[]> {
    return this.#read.list();
  }

  async get(ref: string): Promise<{ definition: VmDefinition; runtime: VmRuntimeInfo }> {
    return this.#read.get(ref);
  }

  // ---- operations ----

  /** vms.changed comes from the catalog, which hears the store's write before this returns. */
  async create(input: VmCreateInput, options: CreateVmOptions = {}): Promise<VmDefinition> {
    const def = await this.registry.create(input, options);
    this.#supervisors.track(def, 'stopped', undefined);
    return def;
  }

  async delete(ref: string, options: { withStorage?: boolean } = {}): Promise<DeleteOutcome> {
    const { def, tracked } = await this.#supervisors.ensureTracked(ref);
    assertOperationAllowed('delete', tracked.machine.state, def.name);
    const outcome = await this.registry.delete(def.id, options);
    this.#supervisors.forget(def.id);
    return outcome;
  }

  // ---- lifecycle ----

  /**
   * Starts a VM; one with a saved state is restored from it (unless `discardSaved`), and `resume`
   * starts it into a snapshot's state instead of booting.
   */
  async start(ref: string, options: { discardSaved?: boolean; resume?: StartResume } = {}): Promise<void> {
    const { def, tracked } = await this.#supervisors.ensureTracked(ref);
    await this.#supervisors.busy(tracked, async () => {
      assertOperationAllowed('start', tracked.machine.state, def.name);
      await this.#supervisors.supervisorGone(tracked, 10_000);
      assertOperationAllowed('start', tracked.machine.state, def.name);
      tracked.machine.transition('starting');
      try {
        const result = await startVm(def, {
          home: this.#options.home,
          env: this.#options.env ?? process.env,
          others: await this.registry.definitions(),
          ...(this.#options.networks ? { networks: this.#options.networks } : {}),
          ...(this.#options.resolveNicBackends ? { resolveNicBackends: this.#options.resolveNicBackends } : {}),
          ...(options.discardSaved ? { discardSaved: true } : {}),
          ...(options.resume ? { resume: options.resume } : {}),
        });
        tracked.runtime = result.runtime;
        tracked.pid = result.pid;
        tracked.childExit = { pid: result.pid, status: result.exited };
        tracked.machine.transition('running');
        // A restore used up the saved state.
        void this.#catalog.refreshExtras(def.id).catch(() => undefined);
        const attached = this.#supervisors.whenAttached(tracked, 15_000);
        this.#supervisors.attach(tracked, result.pid);
        // Return once the VM is watched, so nothing it does goes unseen.
        await attached;
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        if (tracked.machine.state === 'starting') tracked.machine.transition('crashed', { kind: 'failed-to-start', message });
        throw error;
      }
    });
  }

  /**
   * Asks the guest to shut down (or forces it off with `force`). Waits `waitMs` at most (default:
   * not at all); a guest still running then is left "shutting down", never forced, unless
   * `forceAfterMs` was given: then it is forced off that long after the request, in the background.
   */
  async stop(ref: string, options: StopOptions = {}): Promise<StopResult> {
    const { def, tracked } = await this.#supervisors.ensureTracked(ref);
    const asked = Date.now();
    const { forceAfterMs, ...now } = options;
    const waitMs = forceAfterMs === undefined ? now.waitMs : Math.min(now.waitMs ?? 0, forceAfterMs);
    return this.#supervisors.busy(tracked, async () => {
      assertOperationAllowed(options.force ? 'force-stop' : 'stop', tracked.machine.state, def.name);
      const pid = tracked.pid;
      const result = await stopVm(def, this.#controlContext(), { ...now, ...(waitMs === undefined ? {} : { waitMs }) });
      if (!result.stopped) {
        tracked.machine.transition('shutting-down');
        if (forceAfterMs !== undefined && pid !== undefined) this.#forceOffLater(tracked, pid, asked + forceAfterMs);
        return result;
      }
      // The supervisor reports the same when it sees QEMU go; don't wait for it.
      tracked.machine.reset('stopped', { kind: 'user-stopped', forced: result.forced });
      tracked.pid = undefined;
      return result;
    });
  }

  /** The user's "force off after N seconds" preference: forces the same QEMU off at `at` if it is still shutting down. */
  #forceOffLater(tracked: TrackedVm, pid: number, at: number): void {
    const timer = setTimeout(
      () => {
        if (tracked.pid !== pid || tracked.machine.state !== 'shutting-down') return;
        this.stop(tracked.id, { force: true }).catch((error: unknown) => this.#log(`Forcing off VM "${tracked.name}" after its shutdown timeout failed: ${error instanceof Error ? error.message : String(error)}`));
      },
      Math.max(0, at - Date.now()),
    );
    timer.unref();
  }

  /** Saves a running VM's state to a file and stops it; its next start resumes the guest (see save-restore). */
  async save(ref: string, options: SaveOptions = {}): Promise<SaveResult> {
    const { def, tracked } = await this.#supervisors.ensureTracked(ref);
    return this.#supervisors.busy(tracked, async () => {
      const result = await saveVm(def, this.#controlContext(), options);
      await this.#supervisors.supervisorGone(tracked, 10_000);
      tracked.machine.reset('stopped', { kind: 'user-stopped', forced: false });
      tracked.pid = undefined;
      await this.#catalog.refreshExtras(def.id);
      const saved = this.#catalog.summaryOf(def.id)?.savedAt ?? (await savedAt(this.#options.home, def.id));
      this.#emit({ type: 'vm.state', id: def.id, state: 'stopped', stateReason: stateReasonText('stopped', undefined, saved) });
      return result;
    });
  }

  async pause(ref: string): Promise<void> {
    const { def, tracked } = await this.#supervisors.ensureTracked(ref);
    assertOperationAllowed('pause', tracked.machine.state, def.name);
    await pauseVm(def, this.#controlContext());
    tracked.machine.transition('paused');
  }

  async resume(ref: string): Promise<void> {
    const { def, tracked } = await this.#supervisors.ensureTracked(ref);
    assertOperationAllowed('resume', tracked.machine.state, def.name);
    await resumeVm(def, this.#controlContext());
    tracked.machine.transition('running');
  }

  async reset(ref: string): Promise<void> {
    const { def, tracked } = await this.#supervisors.ensureTracked(ref);
    assertOperationAllowed('reset', tracked.machine.state, def.name);
    await resetVm(def, this.#controlContext());
  }

  async reboot(ref: string, options: { timeoutMs?: number } = {}): Promise<void> {
    const { def, tracked } = await this.#supervisors.ensureTracked(ref);
    assertOperationAllowed('reboot', tracked.machine.state, def.name);
    await this.#supervisors.busy(tracked, () => rebootVm(def, this.#controlContext(), options));
  }

  async screenshot(ref: string): Promise<Buffer> {
    const { def } = await this.#supervisors.ensureTracked(ref);
    return screenshotPng(def, this.#controlContext());
  }

  async sendKeys(ref: string, qcodes: readonly string[], holdTimeMs?: number): Promise<void> {
    const { def } = await this.#supervisors.ensureTracked(ref);
    await sendKeysVm(def, this.#controlContext(), qcodes, holdTimeMs);
  }

  /** The latest sample from the VM's supervisor. */
  async stats(ref: string): Promise<VmStatsSample> {
    const { def, tracked } = await this.#supervisors.ensureTracked(ref);
    if (tracked.pid === undefined) throw new EngineError('invalid-state', `VM "${def.name}" is not running, so it has no stats.`);
    if (!tracked.stats) throw new EngineError('unavailable', `No stats for VM "${def.name}" yet.`, { hint: 'They arrive every few seconds after a start.' });
    return tracked.stats;
  }

  /** Tells listeners how far a long operation on VM `id` has come (0–1). */
  reportProgress(id: string, operation: 'snapshot' | 'save' | 'clone', fraction: number): void {
    this.#emit({ type: 'vm.progress', id, operation, fraction: Math.max(0, Math.min(1, fraction)) });
  }

  /** The state as this host knows it (no I/O). */
  stateOf(id: string): VmState | undefined {
    return this.#supervisors.stateOf(id);
  }

  /** True once a supervisor has attached to the VM's QEMU and hears its events. */
  isWatched(id: string): boolean {
    return this.#supervisors.isWatched(id);
  }

  /** The pid of the supervisor process watching a VM (tests, diagnostics). */
  supervisorPid(id: string): number | undefined {
    return this.#supervisors.supervisorPid(id);
  }

  #controlContext(): ControlContext {
    return { home: this.#options.home, env: this.#options.env ?? process.env, ...(this.#options.networks ? { networks: this.#options.networks } : {}) };
  }
}
