import { statSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { EngineError } from '../api/errors';
import type { VmCreateInput, VmDefinition } from '../model';
import type { NicBackend } from '../qemu/argv';
import type { VmDomainEvent } from '../qemu/qmp';
import type { NetworkManager } from '../network/network-manager';
import type { WatchOptions } from '../store';
import { releaseNicBackends } from '../network/nic-backends';
import { pauseVm, rebootVm, resetVm, resumeVm, screenshotPng, sendKeysVm, stopVm, type ControlContext, type StopOptions, type StopResult } from './ops/control';
import { findRunningQemu } from './runtime/pidfile';
import type { CreateVmOptions } from './ops/create-vm';
import { VmRegistry, type DeleteOutcome } from './definitions/registry';
import { RestartPolicy, type RestartPolicyOptions } from './supervision/restart-policy';
import { VmCatalog, type VmSummaryBase } from './definitions/catalog';
import type { VmRuntimePaths } from './runtime/paths';
import { readRuntimeRecord, type RuntimeRecord } from './runtime/records';
import { isTemplate } from './ops/clone/template';
import { saveVm, type SaveOptions, type SaveResult } from './ops/save-restore/save';
import { savedAt } from './ops/save-restore/saved-state';
import { startVm, type StartResume } from './ops/start';
import type { VmStatsSample } from './stats/collector';
import { assertOperationAllowed, describeExitReason, VmStateMachine, type ExitReason, type VmState } from './states';
import type { HostToSupervisor, SupervisorToHost } from './supervision/supervisor-protocol';
import type { VmWorker, WorkerFactory } from './supervision/worker';

export type VmManagerEvent =
  /**
   * Definitions appeared, changed or went, by this process or another (the CLI); `summaries` are
   * the list entries of those of `ids` that still exist (an id without one is gone).
   */
  | { type: 'vms.changed'; ids: string[]; summaries: VmListEntry[] }
  | { type: 'vm.state'; id: string; state: VmState; stateReason: string | null }
  | { type: 'vm.stats'; id: string; stats: VmStatsSample }
  | { type: 'vm.event'; id: string; event: VmDomainEvent }
  /** A long operation (snapshot, save, clone) moving on, 0–1. */
  | { type: 'vm.progress'; id: string; operation: 'snapshot' | 'save' | 'clone'; fraction: number };

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

/** One VM in a list, shaped like engine/api's VmSummary. */
export interface VmListEntry {
  id: string;
  name: string;
  description: string;
  tags: string[];
  osId: string | null;
  state: VmState;
  stateReason: string | null;
  vcpus: number;
  memoryMiB: number;
  autostart: boolean;
  createdAt: string;
  /** When its state was saved (`save`); its next start resumes the guest. Null without one. */
  savedAt: string | null;
  /** A read-only base for linked clones; it cannot be started. */
  template: boolean;
}

/** Runtime facts of one VM, shaped like engine/api's VmRuntime. */
export interface VmRuntimeInfo {
  state: VmState;
  stateReason: string | null;
  exitReason: ExitReason | null;
  pid: number | null;
  startedAt: string | null;
  accelerator: 'kvm' | 'tcg' | null;
  cpuModel: string | null;
  ipAddresses: string[];
  /** Where QEMU keeps the guest's serial output. */
  serialLog: string;
  savedAt: string | null;
  template: boolean;
}

interface Tracked {
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
}

/**
 * Whether a pidfile is there, without a failed open: a stopped VM's runtime folder keeps no pidfile,
 * and with hundreds of VMs polled every second a thrown ENOENT each costs more than the stat.
 */
function pidFileExists(paths: VmRuntimePaths): boolean {
  try {
    return statSync(paths.pidFile, { throwIfNoEntry: false }) !== undefined;
  } catch {
    return true;
  }
}

function reasonText(state: VmState, reason: ExitReason | undefined): string | null {
  if (state !== 'stopped' && state !== 'crashed') return null;
  return reason ? describeExitReason(reason) : null;
}

/** A saved VM is stopped, but says so: its next start resumes the guest. */
function savedReason(state: VmState, saved: string | null, fallback: string | null): string | null {
  return state === 'stopped' && saved !== null ? `saved at ${saved}; starting it resumes the guest where it was` : fallback;
}

/**
 * The VM runtime of a host process (Electron main, `virtdesk serve`): the registry plus one
 * supervisor process per running VM, re-attached to every running QEMU when the host starts, when
 * a supervisor dies, and when a QEMU started elsewhere (the CLI) appears.
 */
export class VmManager {
  readonly registry: VmRegistry;
  readonly #options: VmManagerOptions;
  readonly #tracked = new Map<string, Tracked>();
  #pollTimer: NodeJS.Timeout | undefined;
  #stopWatching: (() => void) | undefined;
  #closed = false;
  #polling: Promise<void> | undefined;
  readonly #catalog: VmCatalog;
  readonly #paths = new Map<string, VmRuntimePaths>();

  private constructor(options: VmManagerOptions, registry: VmRegistry, catalog: VmCatalog) {
    this.#options = options;
    this.registry = registry;
    this.#catalog = catalog;
  }

  /** Creates the manager, loads every definition, and attaches a supervisor to every VM whose QEMU runs. */
  static async open(options: VmManagerOptions): Promise<VmManager> {
    const log = options.log ?? ((text: string) => process.stderr.write(`${text}\n`));
    const registry = new VmRegistry(options.home, options.env ?? process.env, { notify: log });
    const catalog = await VmCatalog.open(registry.store, options.home, { log, ...(options.watch ? { watch: options.watch } : {}) });
    registry.useCatalog(catalog);
    const manager = new VmManager(options, registry, catalog);
    manager.#stopWatching = catalog.onChange((ids) => {
      manager.#emit({ type: 'vms.changed', ids, summaries: manager.#summariesOf(ids) });
      void manager.#scan();
    });
    try {
      await manager.#scan();
    } catch (error) {
      manager.#stopWatching();
      catalog.close();
      throw error;
    }
    const interval = options.pollIntervalMs ?? 1000;
    manager.#pollTimer = setInterval(() => void manager.#scan(), interval);
    manager.#pollTimer.unref();
    return manager;
  }

  /** Stops watching; supervisors detach and every QEMU keeps running. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#pollTimer);
    this.#stopWatching?.();
    this.#catalog.close();
    this.registry.useCatalog(undefined);
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

  #log(line: string): void {
    (this.#options.log ?? ((text: string) => process.stderr.write(`${text}\n`)))(line);
  }

  #emit(event: VmManagerEvent): void {
    this.#options.onEvent?.(event);
  }

  #track(def: VmDefinition, state: VmState, reason: ExitReason | undefined): Tracked {
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
    };
    machine.onChange((next, why) =>
      this.#emit({ type: 'vm.state', id: def.id, state: next, stateReason: savedReason(next, this.#catalog.summaryOf(def.id)?.savedAt ?? null, reasonText(next, why)) }),
    );
    this.#tracked.set(def.id, tracked);
    return tracked;
  }

  /** Brings the tracked set in line with the store and the running QEMUs. */
  #scan(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#polling ??= this.#doScan().finally(() => (this.#polling = undefined));
    return this.#polling;
  }

  /** Runtime paths by VM id (they depend only on the id, the home and the environment). */
  #pathsOf(def: Pick<VmDefinition, 'id'>): VmRuntimePaths {
    let paths = this.#paths.get(def.id);
    if (!paths) this.#paths.set(def.id, (paths = this.registry.paths(def)));
    return paths;
  }

  /**
   * The runtime folders that exist, found with one readdir per runtime root: a VM without one has
   * never run here (or was deleted), so its pidfile need not be looked for. Keeps the poll cheap
   * with hundreds of stopped VMs.
   */
  async #existingRunDirs(defs: readonly VmDefinition[]): Promise<Set<string>> {
    const parents = new Set(defs.map((def) => dirname(this.#pathsOf(def).runDir)));
    const found = new Set<string>();
    await Promise.all(
      [...parents].map(async (parent) => {
        for (const entry of await readdir(parent).catch(() => [] as string[])) found.add(`${parent}/${entry}`);
      }),
    );
    return found;
  }

  async #doScan(): Promise<void> {
    const defs = this.#catalog.definitions();
    const ids = new Set(defs.map((def) => def.id));
    for (const [id, tracked] of this.#tracked) {
      if (!ids.has(id) && !tracked.worker) this.#tracked.delete(id);
    }
    for (const id of this.#paths.keys()) if (!ids.has(id)) this.#paths.delete(id);
    const runDirs = await this.#existingRunDirs(defs);
    await Promise.all(
      defs.map(async (def) => {
        const known = this.#tracked.get(def.id);
        if (known && (known.busy > 0 || (known.worker && !known.worker.exit) || known.restartTimer)) {
          known.name = def.name;
          return;
        }
        if (this.#closed) return;
        // Host start: a save killed while nobody hosted the VM left its guest paused.
        if (!known) await this.registry.recoverInterrupted(def);
        const paths = this.#pathsOf(def);
        const pid = runDirs.has(`${dirname(paths.runDir)}/${basename(paths.runDir)}`) && pidFileExists(paths) ? await findRunningQemu(paths) : undefined;
        if (!known) {
          // First sight: a stopped VM's state comes from its last-exit record.
          const status = pid === undefined ? await this.registry.status(def) : undefined;
          const existed = this.#tracked.has(def.id);
          const tracked = this.#track(def, status?.state ?? 'running', status?.exitReason);
          // Lists answered before this scan said "stopped"; say otherwise if it is not.
          if (!existed && (tracked.machine.state !== 'stopped' || tracked.machine.exitReason)) {
            this.#emit({ type: 'vm.state', id: def.id, state: tracked.machine.state, stateReason: this.#stateReason(tracked, def.id) });
          }
          if (pid !== undefined) this.#attach(tracked, pid);
          return;
        }
        if (pid !== undefined) {
          if (known.gaveUpOnPid === pid) return;
          if (known.pid !== pid) {
            // Started by another process (the CLI): say so now, before the supervisor is up.
            const status = await this.registry.status(def);
            if (status.pid === pid) known.machine.reset(status.state);
          }
          this.#attach(known, pid);
        } else if (known.machine.state !== 'stopped' && known.machine.state !== 'crashed') {
          // It ended while nobody here watched (e.g. between a supervisor's death and its restart).
          const status = await this.registry.status(def);
          known.machine.reset(status.state, status.exitReason);
          known.pid = undefined;
        }
      }),
    );
  }

  #attach(tracked: Tracked, pid: number): void {
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
      this.#log(`[vm ${tracked.name} ${tracked.id.slice(0, 8)} supervisor pid ${worker.pid}] ended unexpectedly (${exit.kind}${exit.kind === 'crashed' ? `, ${exit.signal ?? `code ${exit.code}`}` : ''}); re-attaching`);
      const delay = tracked.policy.crashed();
      if (delay === undefined) {
        this.#log(`[vm ${tracked.name}] supervisor keeps failing; not re-attaching to QEMU pid ${pid} again`);
        tracked.gaveUpOnPid = pid;
        return;
      }
      tracked.restartTimer = setTimeout(() => {
        tracked.restartTimer = undefined;
        void this.#scan();
      }, delay);
      tracked.restartTimer.unref();
    });
    const env = this.#options.env ?? process.env;
    const runtimeEnv: { VIRTDESK_RUNTIME_DIR?: string; XDG_RUNTIME_DIR?: string } = {};
    if (env.VIRTDESK_RUNTIME_DIR) runtimeEnv.VIRTDESK_RUNTIME_DIR = env.VIRTDESK_RUNTIME_DIR;
    if (env.XDG_RUNTIME_DIR) runtimeEnv.XDG_RUNTIME_DIR = env.XDG_RUNTIME_DIR;
    worker.postMessage({ type: 'attach', vmId: tracked.id, vmName: tracked.name, home: this.#options.home, runtimeEnv, statsIntervalMs: this.#options.statsIntervalMs ?? 2000 });
  }

  #onSupervisorMessage(tracked: Tracked, message: SupervisorToHost): void {
    switch (message.type) {
      case 'attached':
        for (const resolve of tracked.attachWaiters.splice(0)) resolve();
        tracked.watched = true;
        tracked.pid = message.pid;
        tracked.machine.reset(message.state);
        void readRuntimeRecord(this.registry.paths(tracked)).then((record) => {
          if (record?.pid === message.pid) tracked.runtime = record;
        });
        break;
      case 'state':
        // After a stop this host already recorded, a late word from the supervisor is stale.
        if (tracked.pid === undefined) break;
        if (!tracked.machine.transition(message.state)) tracked.machine.reset(message.state);
        break;
      case 'event':
        this.#emit({ type: 'vm.event', id: tracked.id, event: message.event });
        break;
      case 'stats':
        tracked.stats = message.stats;
        this.#emit({ type: 'vm.stats', id: tracked.id, stats: message.stats });
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
        this.#releaseNics(tracked.id);
        // A save (perhaps by the CLI) ends with a saved state to show in the list.
        void this.#catalog.refreshExtras(tracked.id).catch(() => undefined);
        if (message.reason === null && tracked.childExit !== undefined && tracked.childExit.pid === endedPid) {
          // QEMU died before the supervisor could watch it; as its parent we know how.
          void this.#reasonFromChildExit(tracked.childExit.status).then((reason) => tracked.machine.reset(reason ? 'crashed' : message.state, reason));
        } else {
          tracked.machine.reset(message.state, message.reason ?? undefined);
        }
        break;
      }
      case 'error':
        this.#log(`[vm ${tracked.name} ${tracked.id.slice(0, 8)} supervisor] ${message.message}`);
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
  #whenAttached(tracked: Tracked, timeoutMs: number): Promise<void> {
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
  #supervisorGone(tracked: Tracked, timeoutMs: number): Promise<void> {
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

  async #ensureTracked(ref: string): Promise<{ def: VmDefinition; tracked: Tracked }> {
    const def = await this.registry.resolve(ref);
    let tracked = this.#tracked.get(def.id);
    if (!tracked) {
      await this.#scan();
      tracked = this.#tracked.get(def.id);
      if (!tracked) {
        const status = await this.registry.status(def);
        tracked = this.#track(def, status.state, status.exitReason);
      }
    }
    return { def, tracked };
  }

  async #busy<T>(tracked: Tracked, fn: () => Promise<T>): Promise<T> {
    tracked.busy += 1;
    try {
      return await fn();
    } finally {
      tracked.busy -= 1;
    }
  }

  // ---- registry ----

  /**
   * Every VM, sorted by name, from memory: definitions and saved/template marks from the catalog,
   * states from the state machines. No disk access; VMs whose vm.json does not load are left out
   * (the host log and `virtdesk vm list` name the file).
   */
  async list(): Promise<VmListEntry[]> {
    return this.#catalog.summaries().map((base) => this.#summary(base));
  }

  #summary(base: VmSummaryBase): VmListEntry {
    const tracked = this.#tracked.get(base.id);
    const state = tracked?.machine.state ?? 'stopped';
    return { ...base, tags: [...base.tags], state, stateReason: savedReason(state, base.savedAt, reasonText(state, tracked?.machine.exitReason)) };
  }

  #summariesOf(ids: readonly string[]): VmListEntry[] {
    return ids.flatMap((id) => {
      const base = this.#catalog.summaryOf(id);
      return base ? [this.#summary(base)] : [];
    });
  }

  #stateReason(tracked: Tracked, id: string): string | null {
    const state = tracked.machine.state;
    return savedReason(state, this.#catalog.summaryOf(id)?.savedAt ?? null, reasonText(state, tracked.machine.exitReason));
  }

  /**
   * Addresses the VM's NICs on virtual networks were given by that network's dnsmasq. NICs on user
   * NAT or a host bridge have no lease we can read (that would need a guest agent).
   */
  async #leasedAddresses(def: VmDefinition): Promise<string[]> {
    const networks = this.#options.networks;
    if (!networks) return [];
    const onNetworks = def.nics.filter((nic) => nic.network.kind === 'network');
    const leases = await Promise.all(onNetworks.map((nic) => networks.addressOf(nic.mac).catch(() => undefined)));
    return leases.flatMap((lease) => (lease ? [lease.ip] : []));
  }

  async get(ref: string): Promise<{ definition: VmDefinition; runtime: VmRuntimeInfo }> {
    const { def, tracked } = await this.#ensureTracked(ref);
    const runtime = tracked.runtime ?? (tracked.pid !== undefined ? await readRuntimeRecord(this.registry.paths(def)) : undefined);
    const state = tracked.machine.state;
    const [saved, template] = await Promise.all([savedAt(this.#options.home, def.id), isTemplate(this.#options.home, def.id)]);
    // Fresh from disk: if the list's copy is behind (a template mark set a moment ago), catch it up.
    this.#catalog.noteExtras(def.id, { savedAt: saved, template });
    return {
      definition: def,
      runtime: {
        state,
        stateReason: savedReason(state, saved, reasonText(state, tracked.machine.exitReason)),
        exitReason: tracked.machine.exitReason ?? null,
        pid: tracked.pid ?? null,
        startedAt: runtime?.startedAt ?? null,
        accelerator: runtime?.accelerator ?? null,
        cpuModel: runtime?.cpuModel ?? null,
        ipAddresses: tracked.pid === undefined ? [] : await this.#leasedAddresses(def),
        serialLog: this.registry.paths(def).serialLog,
        savedAt: saved,
        template,
      },
    };
  }

  /** vms.changed comes from the catalog, which hears the store's write before this returns. */
  async create(input: VmCreateInput, options: CreateVmOptions = {}): Promise<VmDefinition> {
    const def = await this.registry.create(input, options);
    this.#track(def, 'stopped', undefined);
    return def;
  }

  async delete(ref: string, options: { withStorage?: boolean } = {}): Promise<DeleteOutcome> {
    const { def, tracked } = await this.#ensureTracked(ref);
    assertOperationAllowed('delete', tracked.machine.state, def.name);
    const outcome = await this.registry.delete(def.id, options);
    this.#tracked.delete(def.id);
    return outcome;
  }

  // ---- lifecycle ----

  /**
   * Starts a VM; one with a saved state is restored from it (unless `discardSaved`), and `resume`
   * starts it into a snapshot's state instead of booting.
   */
  async start(ref: string, options: { discardSaved?: boolean; resume?: StartResume } = {}): Promise<void> {
    const { def, tracked } = await this.#ensureTracked(ref);
    await this.#busy(tracked, async () => {
      assertOperationAllowed('start', tracked.machine.state, def.name);
      await this.#supervisorGone(tracked, 10_000);
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
        const attached = this.#whenAttached(tracked, 15_000);
        this.#attach(tracked, result.pid);
        // Return once the VM is watched, so nothing it does goes unseen.
        await attached;
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        if (tracked.machine.state === 'starting') tracked.machine.transition('crashed', { kind: 'failed-to-start', message });
        throw error;
      }
    });
  }

  async stop(ref: string, options: StopOptions = {}): Promise<StopResult> {
    const { def, tracked } = await this.#ensureTracked(ref);
    return this.#busy(tracked, async () => {
      assertOperationAllowed(options.force ? 'force-stop' : 'stop', tracked.machine.state, def.name);
      const result = await stopVm(def, this.#controlContext(), options);
      // The supervisor reports the same when it sees QEMU go; don't wait for it.
      tracked.machine.reset('stopped', { kind: 'user-stopped', forced: result.forced });
      tracked.pid = undefined;
      return result;
    });
  }

  /** Saves a running VM's state to a file and stops it; its next start resumes the guest (see save-restore). */
  async save(ref: string, options: SaveOptions = {}): Promise<SaveResult> {
    const { def, tracked } = await this.#ensureTracked(ref);
    return this.#busy(tracked, async () => {
      const result = await saveVm(def, this.#controlContext(), options);
      await this.#supervisorGone(tracked, 10_000);
      tracked.machine.reset('stopped', { kind: 'user-stopped', forced: false });
      tracked.pid = undefined;
      await this.#catalog.refreshExtras(def.id);
      const saved = this.#catalog.summaryOf(def.id)?.savedAt ?? (await savedAt(this.#options.home, def.id));
      this.#emit({ type: 'vm.state', id: def.id, state: 'stopped', stateReason: savedReason('stopped', saved, null) });
      return result;
    });
  }

  async pause(ref: string): Promise<void> {
    const { def, tracked } = await this.#ensureTracked(ref);
    assertOperationAllowed('pause', tracked.machine.state, def.name);
    await pauseVm(def, this.#controlContext());
    tracked.machine.transition('paused');
  }

  async resume(ref: string): Promise<void> {
    const { def, tracked } = await this.#ensureTracked(ref);
    assertOperationAllowed('resume', tracked.machine.state, def.name);
    await resumeVm(def, this.#controlContext());
    tracked.machine.transition('running');
  }

  async reset(ref: string): Promise<void> {
    const { def, tracked } = await this.#ensureTracked(ref);
    assertOperationAllowed('reset', tracked.machine.state, def.name);
    await resetVm(def, this.#controlContext());
  }

  async reboot(ref: string, options: { timeoutMs?: number } = {}): Promise<void> {
    const { def, tracked } = await this.#ensureTracked(ref);
    assertOperationAllowed('reboot', tracked.machine.state, def.name);
    await this.#busy(tracked, () => rebootVm(def, this.#controlContext(), options));
  }

  async screenshot(ref: string): Promise<Buffer> {
    const { def } = await this.#ensureTracked(ref);
    return screenshotPng(def, this.#controlContext());
  }

  async sendKeys(ref: string, qcodes: readonly string[], holdTimeMs?: number): Promise<void> {
    const { def } = await this.#ensureTracked(ref);
    await sendKeysVm(def, this.#controlContext(), qcodes, holdTimeMs);
  }

  /** The latest sample from the VM's supervisor. */
  async stats(ref: string): Promise<VmStatsSample> {
    const { def, tracked } = await this.#ensureTracked(ref);
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

  #controlContext(): ControlContext {
    return { home: this.#options.home, env: this.#options.env ?? process.env, ...(this.#options.networks ? { networks: this.#options.networks } : {}) };
  }

  /** Gives back the host side of a VM's NICs once its QEMU is gone (a stop from here does it itself). */
  #releaseNics(id: string): void {
    void this.registry.store
      .get(id)
      .then((def) => releaseNicBackends(def, { home: this.#options.home, env: this.#options.env ?? process.env, ...(this.#options.networks ? { networks: this.#options.networks } : {}) }))
      .catch(() => undefined);
  }
}
