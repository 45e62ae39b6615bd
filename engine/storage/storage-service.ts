import { freeBytes } from './free-space';
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
    this.ctx = { pools: this.pools, usage: options.usage ?? noUsage };
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

  getVolume(pool: string, name: string): Promise<Volume> {
    return getVolume(this.ctx, pool, name);
  }

  /** The volume plus qemu-img's full view of it (backing chain, snapshots). */
  async volumeInfo(pool: string, name: string): Promise<{ volume: Volume; info: ImageInfoWithChain }> {
    const volume = await getVolume(this.ctx, pool, name);
    return { volume, info: await imageInfo(volume.path) };
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
