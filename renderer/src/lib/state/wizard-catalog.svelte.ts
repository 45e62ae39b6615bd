import type { HostOverview } from '../../../../engine/api/host-api';
import type { HostBridgeEntry, NetworkInfo } from '../../../../engine/api/network-api';
import type { IsoInfo, OsDetectionInfo, OsInfo, Pool, VolumeInfo } from '../../../../engine/api/storage-api';
import type { VirtdeskClient } from '../api/client';

/** An OS the engine knows, from the osinfo list or from detecting install media. */
export interface KnownOs {
  osId: string;
  name: string;
  recommended: { memoryMiB?: number | undefined; vcpus?: number | undefined; diskBytes?: number | undefined };
}

export function detectedOs(detection: OsDetectionInfo): KnownOs | undefined {
  return detection.osId === 'unknown' || !('name' in detection) ? undefined : { osId: detection.osId, name: detection.name, recommended: detection.recommended };
}

const OS_SEARCH_DEBOUNCE_MS = 200;

/**
 * What the wizard offers to choose from, read from the host: its limits, the ISO library, the
 * storage pools (and the one the preferences name as default), their volumes, the virtual
 * networks and host bridges, and the osinfo OS list. Each part loads on its own; a part that
 * fails leaves its field as free text.
 */
export class WizardCatalog {
  host = $state<HostOverview | undefined>(undefined);
  isos = $state<IsoInfo[]>([]);
  pools = $state<Pool[]>([]);
  defaultPool = $state<string | undefined>(undefined);
  volumes = $state<VolumeInfo[]>([]);
  networks = $state<NetworkInfo[]>([]);
  bridges = $state<HostBridgeEntry[]>([]);
  osResults = $state<OsInfo[]>([]);
  readonly #client: VirtdeskClient;
  #osTimer: ReturnType<typeof setTimeout> | undefined;
  #osSeq = 0;
  #volumesLoaded = false;

  constructor(client: VirtdeskClient) {
    this.#client = client;
    const api = client.api;
    const quietly = <T>(promise: Promise<T>, use: (value: T) => void) => promise.then(use).catch(() => undefined);
    quietly(api.host.overview({}), (value) => (this.host = value));
    quietly(api.storage.listIsos({}), (value) => (this.isos = value.isos.filter((iso) => !iso.missing)));
    quietly(api.storage.listPools({}), (value) => (this.pools = value.pools.filter((pool) => pool.available)));
    quietly(api.preferences.get({}), (value) => (this.defaultPool = value.defaultPool));
    quietly(api.networks.list({}), (value) => (this.networks = value.networks));
    quietly(api.networks.hostBridges({}), (value) => (this.bridges = value));
  }

  /** Images in every pool, for choosing an existing disk; loaded the first time it is asked for. */
  loadVolumes(): void {
    if (this.#volumesLoaded) return;
    this.#volumesLoaded = true;
    void Promise.all(this.pools.map((pool) => this.#client.api.storage.listVolumes({ pool: pool.name }).catch(() => [] as VolumeInfo[]))).then(
      (lists) => (this.volumes = lists.flat()),
    );
  }

  /** Searches the osinfo list (debounced); results land in `osResults`. */
  searchOs(query: string): void {
    clearTimeout(this.#osTimer);
    this.#osTimer = setTimeout(() => {
      const seq = ++this.#osSeq;
      this.#client.api.storage
        .listOses({ query: query.trim(), limit: 30 })
        .then((results) => {
          if (seq === this.#osSeq) this.osResults = results;
        })
        .catch(() => undefined);
    }, OS_SEARCH_DEBOUNCE_MS);
  }

  /** The osinfo entry with exactly this id, if the engine knows it. */
  async lookupOs(osId: string): Promise<KnownOs | undefined> {
    const known = this.osResults.find((os) => os.osId === osId);
    if (known) return known;
    try {
      return (await this.#client.api.storage.listOses({ query: osId, limit: 200 })).find((os) => os.osId === osId);
    } catch {
      return undefined;
    }
  }

  async detectIso(path: string): Promise<OsDetectionInfo> {
    const library = this.isos.find((iso) => iso.path === path);
    if (library) return library.detection;
    return (await this.#client.api.storage.detectIso({ path })).detection;
  }

  dispose(): void {
    clearTimeout(this.#osTimer);
    this.#osSeq++;
  }
}
