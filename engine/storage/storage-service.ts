import { join } from 'node:path';
import type { ImplementationOf } from '../api/contract';
import type { EventBus } from '../api/events';
import type { OsInfo, storageEvents, storageMethods } from '../api/storage-api';
import { EngineError } from '../api/errors';
import { AllowedFolders, isLimitedPeer } from './access/allowed-folders';
import { systemFolderProblem } from './access/system-folders';
import type { DownloadProgress } from './download/download';
import { freeBytes } from './free-space';
import { describe } from './iso/detect-os';
import { IsoLibrary } from './iso/iso-library';
import { loadOsinfoIndex, type OsinfoIndex, type OsinfoOs } from './iso/osinfo-db';
import { PoolRegistry, type PoolDefinition } from './pools/pool-registry';
import { watchFolder, type PoolWatchOptions } from './pools/pool-watcher';
import { imageInfo } from './qemu-img/info';
import type { ImageInfoWithChain } from './qemu-img/types';
import { noUsage, type UsageResolver } from './usage';
import { getVolume, listVolumes } from './volumes/list';
import {
  checkVolume,
  cloneVolume,
  createVolume,
  deleteVolume,
  downloadVolume,
  importVolume,
  resizeVolume,
  type CheckVolumeRequest,
  type CloneVolumeRequest,
  type CreateVolumeRequest,
  type DeleteVolumeRequest,
  type DownloadVolumeRequest,
  type ImportVolumeRequest,
  type ResizeVolumeRequest,
} from './volumes/operations';
import type { StorageContext, Volume } from './volumes/types';

export interface StorageServiceOptions {
  home: string;
  /** Which VMs use a file; the VM runtime provides it. Without it nothing counts as in use. */
  usage?: UsageResolver;
  /** Where qemu-img is looked up (`$VIRTDESK_QEMU_IMG`, PATH). Default: process.env. */
  env?: NodeJS.ProcessEnv;
}

export interface PoolSummary extends PoolDefinition {
  /** False when the folder is missing or unreadable. */
  available: boolean;
  freeBytes?: number;
  problem?: string;
}

/** Pools and volumes: the storage half of the engine that virt-manager's storage tab shows. */
export class StorageService {
  readonly pools: PoolRegistry;
  private readonly ctx: StorageContext;

  constructor(options: StorageServiceOptions) {
    this.pools = new PoolRegistry(options.home);
    this.ctx = { pools: this.pools, usage: options.usage ?? noUsage, ...(options.env ? { env: options.env } : {}) };
  }

  /** Replaces the usage resolver once the VM runtime exists (it is created after storage). */
  setUsageResolver(usage: UsageResolver): void {
    this.ctx.usage = usage;
  }

  async listPools(): Promise<{ pools: PoolSummary[]; problems: string[] }> {
    await this.pools.ensureDefault();
    const { pools, problems } = await this.pools.list();
    const summaries = await Promise.all(
      pools.map(async (pool): Promise<PoolSummary> => {
        const refused = systemFolderProblem(pool.path);
        if (refused !== undefined) return { ...pool, available: false, problem: `${refused}; remove this pool (its files stay)` };
        try {
          return { ...pool, available: true, freeBytes: await freeBytes(pool.path) };
        } catch (error) {
          return { ...pool, available: false, problem: `The folder ${pool.path} cannot be read: ${(error as Error).message}` };
        }
      }),
    );
    return { pools: summaries, problems };
  }

  addPool(name: string, folder: string): Promise<PoolDefinition> {
    return this.pools.add(name, folder);
  }

  removePool(name: string): Promise<PoolDefinition> {
    return this.pools.remove(name);
  }

  listVolumes(pool: string): Promise<Volume[]> {
    return listVolumes(this.ctx, pool);
  }

  /** `withBases` also lists the linked clones built on it (scans every pool). */
  getVolume(pool: string, name: string, options: { withBases?: boolean } = {}): Promise<Volume> {
    return getVolume(this.ctx, pool, name, options);
  }

  /** The volume plus qemu-img's full view of it (backing chain, snapshots). */
  async volumeInfo(pool: string, name: string): Promise<{ volume: Volume; info: ImageInfoWithChain }> {
    const volume = await getVolume(this.ctx, pool, name, { withBases: true });
    return { volume, info: await imageInfo(volume.path, this.ctx.env ? { env: this.ctx.env } : {}) };
  }

  createVolume(request: CreateVolumeRequest) {
    return createVolume(this.ctx, request);
  }

  deleteVolume(request: DeleteVolumeRequest) {
    return deleteVolume(this.ctx, request);
  }

  resizeVolume(request: ResizeVolumeRequest) {
    return resizeVolume(this.ctx, request);
  }

  cloneVolume(request: CloneVolumeRequest) {
    return cloneVolume(this.ctx, request);
  }

  importVolume(request: ImportVolumeRequest) {
    return importVolume(this.ctx, request);
  }

  /** Downloads a disk image into a pool (resumable, optionally checksum-verified). */
  downloadVolume(request: DownloadVolumeRequest) {
    return downloadVolume(this.ctx, request);
  }

  checkVolume(request: CheckVolumeRequest) {
    return checkVolume(this.ctx, request);
  }

  /** Rescans a pool whenever its folder changes on disk and hands over the fresh list. Returns stop. */
  async watchPool(pool: string, onChange: (volumes: Volume[]) => void, options?: PoolWatchOptions): Promise<() => void> {
    const definition = await this.pools.get(pool);
    let running = false;
    let again = false;
    const rescan = async () => {
      if (running) {
        again = true;
        return;
      }
      running = true;
      try {
        do {
          again = false;
          const volumes = await listVolumes(this.ctx, pool).catch(() => undefined);
          if (volumes) onChange(volumes);
        } while (again);
      } finally {
        running = false;
      }
    };
    return watchFolder(definition.path, () => void rescan(), options);
  }
}

// ---------------------------------------------------------------------------------------------
// The RPC side: engine/api's storage service over StorageService, IsoLibrary and osinfo-db.

export interface StorageRpcOptions {
  home: string;
  bus: EventBus<Record<string, unknown>>;
  env?: NodeJS.ProcessEnv;
  /** Which VMs use a file: passed in by the host (engine.ts gives the VM registry's), so storage never reaches up into engine/vm. */
  usage: UsageResolver;
  /** osinfo-db's folder; default /usr/share/osinfo (`$VIRTDESK_OSINFO_DIR` in the CLI). */
  osinfoDir?: string;
  /** Where limited sessions may name files; default the allowed folders of `home`. */
  access?: AllowedFolders;
}

type StorageContract = { services: { storage: typeof storageMethods }; events: typeof storageEvents };
export type StorageImplementation = ImplementationOf<StorageContract>['storage'];

const PROGRESS_INTERVAL_MS = 100;

/** Emits `storage.progress` for one operation, at most every 100 ms except the last (done = total). */
export function progressReporter(bus: EventBus<Record<string, unknown>>, operationId: string | undefined) {
  let last = 0;
  return (done: number, total: number | null) => {
    if (operationId === undefined) return;
    const now = Date.now();
    if (done !== total && now - last < PROGRESS_INTERVAL_MS) return;
    last = now;
    bus.emit('storage.progress', { operationId, done, total });
  };
}

function withSignal<T extends object>(request: T, signal: AbortSignal): T & { signal: AbortSignal } {
  return { ...request, signal };
}

/** Drops undefined fields, so optional request fields stay absent under exactOptionalPropertyTypes-style code. */
function defined<T extends Record<string, unknown>>(value: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as { [K in keyof T]: Exclude<T[K], undefined> };
}

function searchWords(query: string): string[] {
  return query.toLowerCase().split(/\s+/).filter(Boolean);
}

function osInfoOf(index: OsinfoIndex, os: OsinfoOs): OsInfo {
  const x86 = os.media.find((m) => m.arch === 'x86_64') ?? { arch: 'x86_64', variants: [], live: false, installer: true };
  const { osId, name, version, vendor, family, recommended, minimum } = describe(index, os, x86);
  return { osId, name, recommended, minimum, ...defined({ version, vendor, family }) };
}

/** Implements engine/api's storage service; a host registers it as `storage` in the engine. */
export function createStorageService(options: StorageRpcOptions): StorageImplementation {
  const { usage } = options;
  const storage = new StorageService({ home: options.home, usage, ...(options.env ? { env: options.env } : {}) });
  const isos = new IsoLibrary({ home: options.home, usage, ...(options.osinfoDir ? { osinfoDir: options.osinfoDir } : {}) });
  const { bus } = options;
  const access = options.access ?? new AllowedFolders({ home: options.home, ...(options.env ? { env: options.env } : {}) });
  const changed = (what: 'pools' | 'volumes' | 'isos' | 'folders', pool?: string) => bus.emit('storage.changed', pool === undefined ? { what } : { what, pool });
  const qemuImgProgress = (operationId: string | undefined) => {
    const report = progressReporter(bus, operationId);
    return (event: { percent: number }) => report(event.percent, 100);
  };
  const downloadProgress = (operationId: string | undefined) => {
    const report = progressReporter(bus, operationId);
    return (p: DownloadProgress) => report(p.receivedBytes, p.totalBytes ?? null);
  };

  return {
    listPools: () => storage.listPools(),
    async addPool({ name, path }, { peer }) {
      // A pool becomes an allowed folder, so a limited session may only make one of a folder it may already use.
      await access.assertPeerMayUse(peer, [{ field: 'pool folder', path }]);
      const pool = await storage.addPool(name, path);
      changed('pools');
      return pool;
    },
    async removePool({ name }) {
      const pool = await storage.removePool(name);
      changed('pools');
      return pool;
    },
    listVolumes: ({ pool }) => storage.listVolumes(pool),
    getVolume: ({ pool, name }) => storage.getVolume(pool, name, { withBases: true }),
    async createVolume(params, { signal }) {
      const result = await storage.createVolume(withSignal(defined(params), signal));
      changed('volumes', params.pool);
      return result;
    },
    async resizeVolume(params) {
      const result = await storage.resizeVolume(defined(params));
      changed('volumes', params.pool);
      return result;
    },
    async cloneVolume({ operationId, ...params }, { signal }) {
      const result = await storage.cloneVolume(withSignal({ ...defined(params), onProgress: qemuImgProgress(operationId) }, signal));
      changed('volumes', result.volume.pool);
      return result;
    },
    async deleteVolume(params) {
      const result = await storage.deleteVolume(defined(params));
      changed('volumes', params.pool);
      return result;
    },
    async importVolume({ operationId, ...params }, { signal, peer }) {
      await access.assertPeerMayUse(peer, [{ field: 'image to import', path: params.source }]);
      const result = await storage.importVolume(withSignal({ ...defined(params), onProgress: qemuImgProgress(operationId) }, signal));
      changed('volumes', params.pool);
      return result;
    },
    async downloadVolume({ operationId, ...params }, { signal }) {
      const result = await storage.downloadVolume(withSignal({ ...defined(params), onProgress: downloadProgress(operationId) }, signal));
      changed('volumes', params.pool);
      return result;
    },
    checkVolume: (params) => storage.checkVolume(defined(params)),

    listIsos: () => isos.list(),
    async addIso({ path, name }, { peer }) {
      await access.assertPeerMayUse(peer, [{ field: 'ISO file', path }]);
      const entry = await isos.add(path, defined({ name }));
      changed('isos');
      return entry;
    },
    async detectIso({ path }, { peer }) {
      await access.assertPeerMayUse(peer, [{ field: 'ISO file', path }]);
      return isos.detect(path);
    },
    async removeIso({ id, deleteFile }) {
      const { entry, deletedFile } = await isos.remove(id, defined({ deleteFile }));
      changed('isos');
      return { id: entry.id, deletedFile };
    },
    async downloadIso({ operationId, ...params }, { signal }) {
      const entry = await isos.download(withSignal({ ...defined(params), onProgress: downloadProgress(operationId) }, signal));
      changed('isos');
      return entry;
    },

    listAllowedFolders: async (_params, { peer }) => ({ folders: await access.list(), limited: isLimitedPeer(peer) }),
    async allowFolder({ path }, { peer }) {
      if (peer.kind === 'browser') {
        throw new EngineError('permission-denied', 'A browser session cannot allow more folders to itself.', {
          hint: `Allow the folder on the host: \`virtdesk folder allow ${path}\` (or in the desktop app).`,
        });
      }
      const folder = await access.add(path);
      changed('folders');
      return folder;
    },
    async disallowFolder({ path }) {
      const removed = await access.remove(path);
      if (removed) changed('folders');
      return { removed };
    },

    async listOses({ query, limit }) {
      const index = await loadOsinfoIndex({ ...(options.osinfoDir ? { directory: options.osinfoDir } : {}), cacheDir: join(options.home, 'cache') });
      const words = searchWords(query);
      const hits = index.oses.filter((os) => {
        const text = `${os.shortId} ${os.name} ${os.vendor ?? ''} ${os.family ?? ''}`.toLowerCase();
        return words.every((word) => text.includes(word));
      });
      // Exact id first, then newest first within a name (debian12 before debian11).
      const exact = (os: OsinfoOs) => (words.length === 1 && os.shortId === words[0] ? 0 : 1);
      hits.sort((a, b) => exact(a) - exact(b) || b.name.localeCompare(a.name, 'en', { numeric: true }));
      return hits.slice(0, limit).map((os) => osInfoOf(index, os));
    },
  };
}
