import { linkedClonesOf } from '../ops/clone/template';
import { rm } from 'node:fs/promises';
import { createVm, type CreateVmOptions } from '../ops/create-vm';
import { loadQemuCapabilities } from '../../host/capabilities';
import { findQemu } from '../../host/find-qemu';
import { hostLimits } from '../../host/limits';
import { readHostResources } from '../../host/memory';
import { MAX_VCPUS, VM_DEFAULTS, type HostLimits, type VmCreateInput, type VmDefinition } from '../../model';
import { imageDeletionProblem } from '../../storage/volumes/deletable';
import { canonicalPath, type UsageResolver, type VolumeUser } from '../../storage/usage';
import { findRunningQemu } from '../runtime/pidfile';
import { removeRuntimeDir, vmRuntimePaths, type VmRuntimePaths } from '../runtime/paths';
import { assertOperationAllowed } from '../states';
import { removeInterruptedClones } from '../ops/clone/clone-journal';
import { recoverInterruptedSave } from '../ops/save-restore/interrupted-save';
import { probeVmStatus, type VmStatus } from '../runtime/probe';
import { recoverInterruptedStart } from '../runtime/interrupted-start';
import type { VmCatalog } from './catalog';
import { openVmStore, type VmStore } from './store';

/** How long a registry reuses the host limits it probed. */
const HOST_LIMITS_TTL_MS = 10_000;

export interface DeleteOutcome {
  /** Images removed with `withStorage`. */
  deletedFiles: string[];
  /** Images kept, with why (another VM uses them). */
  keptFiles: { path: string; why: string }[];
}

/**
 * The VM definitions and what can be known about them from outside: create (validated, unique
 * names and MACs, files checked, images made), resolve by name or id, live status, delete. Used by the CLI
 * directly and by the host's VmManager, so both behave the same.
 */
export class VmRegistry {
  readonly home: string;
  readonly env: NodeJS.ProcessEnv;
  readonly store: VmStore;
  #catalog: VmCatalog | undefined;
  readonly #hostLimits = new Map<string, { at: number; limits: Promise<HostLimits> }>();

  readonly #notify: (line: string) => void;

  /** `notify` tells the user what a look at a VM put right (e.g. an interrupted save rolled back). */
  constructor(home: string, env: NodeJS.ProcessEnv = process.env, options: { notify?: (line: string) => void } = {}) {
    this.home = home;
    this.env = env;
    this.store = openVmStore(home);
    this.#notify = options.notify ?? ((line) => process.stderr.write(`${line}\n`));
  }

  /** Removes the images of clones whose process was killed before the clone was stored, and says so. */
  async recoverInterruptedClones(): Promise<void> {
    const ids = new Set((await this.store.list()).items.map((def) => def.id));
    const notices = await removeInterruptedClones(this.home, this.env, (id) => ids.has(id)).catch((error: unknown) => [
      `Could not clean up after an interrupted clone: ${error instanceof Error ? error.message : String(error)}`,
    ]);
    for (const notice of notices) this.#notify(notice);
  }

  /** Rolls back what a killed process left half done to the VM (today: a save), and says so. */
  async recoverInterrupted(def: VmDefinition): Promise<void> {
    const started = await recoverInterruptedStart(this.paths(def), def.name).catch(
      (error: unknown) => `Could not clean up an interrupted start of VM "${def.name}": ${error instanceof Error ? error.message : String(error)}`,
    );
    if (started) this.#notify(started);
    const notice = await recoverInterruptedSave(def, { home: this.home, env: this.env }).catch(
      (error: unknown) => `Could not roll back an interrupted save of VM "${def.name}": ${error instanceof Error ? error.message : String(error)}`,
    );
    if (notice) this.#notify(notice);
  }

  /**
   * In a host process, the in-memory definitions (VmManager sets it): `definitions` then answers
   * from memory and `resolve` finds names there. Without one (the CLI) every call reads the disk.
   */
  useCatalog(catalog: VmCatalog | undefined): void {
    this.#catalog = catalog;
  }

  paths(def: Pick<VmDefinition, 'id'>): VmRuntimePaths {
    return vmRuntimePaths(this.home, def.id, this.env);
  }

  /** By name or id; not-found names the reference. The definition is read fresh from disk. */
  async resolve(ref: string): Promise<VmDefinition> {
    let id: string | undefined;
    try {
      id = this.#catalog?.resolve(ref).id;
    } catch {
      // Not in memory (yet), or its file does not load: the store says exactly what.
    }
    const def = id === undefined ? await this.store.resolve(ref) : await this.store.get(id);
    await this.recoverInterrupted(def);
    return def;
  }

  /**
   * Every definition that loads, sorted by name. In a host process these are the catalog's own
   * objects, shared and frozen (changing one throws; copy it first): callers read the others to
   * check names, MACs and disks, and copying hundreds of definitions on every edit cost more than
   * the edit.
   */
  async definitions(): Promise<VmDefinition[]> {
    if (this.#catalog) return [...this.#catalog.definitions()];
    return (await this.store.list()).items;
  }

  async status(def: VmDefinition): Promise<VmStatus> {
    await this.recoverInterrupted(def);
    return probeVmStatus(this.paths(def), def.name);
  }

  /**
   * What one VM may ask of this host; without QEMU only the memory limit is known. Both figures are
   * facts of the host (its total memory, QEMU's vCPU limit per machine type), so a long-lived
   * registry (the host process's) keeps an answer for a few seconds: every edit is validated
   * against them, and probing costs more file reads than the rest of an edit.
   */
  hostLimits(machine: string = VM_DEFAULTS.machine): Promise<HostLimits> {
    const now = Date.now();
    const known = this.#hostLimits.get(machine);
    if (known && now - known.at < HOST_LIMITS_TTL_MS) return known.limits;
    const limits = this.#probeHostLimits(machine);
    this.#hostLimits.set(machine, { at: now, limits });
    limits.catch(() => this.#hostLimits.delete(machine));
    return limits;
  }

  async #probeHostLimits(machine: string): Promise<HostLimits> {
    const resources = await readHostResources();
    try {
      const caps = await loadQemuCapabilities({ binary: await findQemu(this.env), home: this.home, env: this.env });
      return hostLimits(resources, caps, machine);
    } catch {
      return { maxMemoryMiB: Math.floor(resources.memory.totalBytes / (1024 * 1024)), maxVcpus: MAX_VCPUS };
    }
  }

  /** See createVm: downloads, new images, the definition, and rollback, in one step. */
  create(input: VmCreateInput, options: CreateVmOptions = {}): Promise<VmDefinition> {
    return createVm(this, input, options);
  }

  /** Removes a stopped VM's definition and folder (logs, NVRAM), and with `withStorage` its disk images. */
  async delete(ref: string, options: { withStorage?: boolean } = {}): Promise<DeleteOutcome> {
    const def = await this.resolve(ref);
    const status = await this.status(def);
    assertOperationAllowed('delete', status.state, def.name);
    const outcome: DeleteOutcome = { deletedFiles: [], keptFiles: [] };
    const others = (await this.definitions()).filter((other) => other.id !== def.id);
    await this.store.delete(def.id);
    await removeRuntimeDir(this.paths(def));
    if (options.withStorage) {
      // The base image of another VM's linked clone would pull that clone's disk out from under it.
      const clones = await linkedClonesOf(def, others, this.env);
      for (const disk of def.disks) {
        const dependents = clones.filter((clone) => clone.base === disk.source);
        if (dependents.length > 0) {
          outcome.keptFiles.push({ path: disk.source, why: `it is the base image of linked clone(s) in VM ${[...new Set(dependents.map((c) => `"${c.vm}"`))].join(', ')}` });
          continue;
        }
        const users = others.filter((other) => other.disks.some((d) => d.source === disk.source) || other.cdroms.some((c) => c.media === disk.source));
        if (users.length > 0) {
          outcome.keptFiles.push({ path: disk.source, why: `also used by VM ${users.map((u) => `"${u.name}"`).join(', ')}` });
          continue;
        }
        const notImage = await imageDeletionProblem(disk.source, this.env);
        if (notImage !== undefined) {
          outcome.keptFiles.push({ path: disk.source, why: `it is not a disk image (${notImage})` });
          continue;
        }
        try {
          await rm(disk.source);
          outcome.deletedFiles.push(disk.source);
        } catch (error) {
          const code = (error as NodeJS.ErrnoException).code;
          outcome.keptFiles.push({ path: disk.source, why: code === 'ENOENT' ? 'it did not exist' : `it could not be removed: ${(error as Error).message}` });
        }
      }
    }
    return outcome;
  }

  /** For engine/storage: which VMs use a file, and whether they run. */
  usageResolver(): UsageResolver {
    return async (path: string): Promise<VolumeUser[]> => {
      const target = await canonicalPath(path);
      const users: VolumeUser[] = [];
      for (const def of await this.definitions()) {
        const uses: boolean[] = [];
        for (const disk of def.disks) if ((await canonicalPath(disk.source)) === target) uses.push(disk.readOnly);
        for (const cdrom of def.cdroms) if (cdrom.media !== null && (await canonicalPath(cdrom.media)) === target) uses.push(true);
        if (uses.length === 0) continue;
        const running = (await findRunningQemu(this.paths(def))) !== undefined;
        users.push({ vmId: def.id, vmName: def.name, readOnly: uses.every(Boolean), running });
      }
      return users;
    };
  }
}
