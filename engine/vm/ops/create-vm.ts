import { readdir, rm } from 'node:fs/promises';
import { createVmDefinition, vmCreateInputSchema, type VmCreateInput, type HostLimits, type VmCreateRequest, type VmDefinition, type VmDefinitionInput } from '../../model';
import { parseOrThrow } from '../../model/parse';
import type { DownloadProgress } from '../../storage/download/download';
import { IsoLibrary } from '../../storage/iso/iso-library';
import { StorageService } from '../../storage/storage-service';
import { assertFilesUsable } from '../runtime/file-checks';
import type { VmStore } from '../definitions/store';

/** What creating a VM needs of the registry. */
export interface VmCreateContext {
  readonly home: string;
  readonly env: NodeJS.ProcessEnv;
  readonly store: VmStore;
  definitions(): Promise<VmDefinition[]>;
  hostLimits(machine: string): Promise<HostLimits>;
}

export interface CreateVmOptions {
  signal?: AbortSignal;
  /** Progress of an installer download (`cdroms[].download`). */
  onDownload?: (progress: DownloadProgress) => void;
}

/** A disk image create() makes: where, and from which request. */
interface PlannedVolume {
  pool: string;
  name: string;
  path: string;
  sizeBytes: number;
  format: 'qcow2' | 'raw';
}

/**
 * The one rule for naming a new VM's images: the VM's name and the format (`web.qcow2`), then
 * `web-2.qcow2`, `web-3.qcow2`… — the first name neither in the pool nor planned already.
 */
export function volumeNameFor(vmName: string, format: string, taken: ReadonlySet<string>): string {
  for (let n = 1; ; n++) {
    const name = `${vmName}${n === 1 ? '' : `-${n}`}.${format}`;
    if (!taken.has(name)) return name;
  }
}

/**
 * Turns the disks that ask to be created into planned images with their paths, and the input
 * into a plain definition input that names those paths. Nothing is created here: preview uses
 * it as it is.
 */
async function planVolumes(storage: StorageService, input: VmCreateRequest): Promise<{ planned: PlannedVolume[]; input: VmDefinitionInput }> {
  const planned: PlannedVolume[] = [];
  const takenIn = new Map<string, Set<string>>();
  const disks = [];
  for (const disk of input.disks) {
    const { create, ...rest } = disk;
    if (create === undefined) {
      disks.push({ ...rest, source: rest.source! });
      continue;
    }
    const pool = create.pool === undefined ? await storage.pools.ensureDefault() : await storage.pools.get(create.pool);
    let taken = takenIn.get(pool.name);
    if (taken === undefined) takenIn.set(pool.name, (taken = new Set(await readdir(pool.path).catch(() => []))));
    const name = volumeNameFor(input.name, create.format, taken);
    taken.add(name);
    const path = `${pool.path}/${name}`;
    planned.push({ pool: pool.name, name, path, sizeBytes: create.sizeBytes, format: create.format });
    disks.push({ ...rest, source: path, format: create.format });
  }
  const cdroms = input.cdroms.map(({ download, ...cdrom }) => (download === undefined ? cdrom : { ...cdrom, media: null }));
  return { planned, input: { ...input, disks, cdroms } };
}

/** What a preview calls a machine not named yet; problems with it are the caller's to ignore. */
export const PREVIEW_NAME = 'new-vm';

/** The complete definition `createVm` would store, without downloading or creating anything. */
export async function previewVm(registry: VmCreateContext, raw: Omit<VmCreateInput, 'name'> & { name?: string | undefined }): Promise<VmDefinition> {
  const parsed = parseOrThrow(vmCreateInputSchema, { ...raw, name: raw.name ?? PREVIEW_NAME }, 'VM definition');
  const { input } = await planVolumes(new StorageService({ home: registry.home, env: registry.env }), parsed);
  return createVmDefinition(input, { existing: await registry.definitions(), host: await registry.hostLimits(parsed.machine) });
}

/**
 * Creates a VM in one step: downloads the installer a CD-ROM asks for (into the ISO library; an
 * OS id not given is taken from what is detected on it), builds and checks the definition, creates
 * the new disk images, and stores the definition. When a step after the images fails, the images
 * are removed again; a downloaded ISO stays in the library.
 */
export async function createVm(registry: VmCreateContext, raw: VmCreateInput, options: CreateVmOptions = {}): Promise<VmDefinition> {
  let parsed = parseOrThrow(vmCreateInputSchema, raw, 'VM definition');
  const storage = new StorageService({ home: registry.home, env: registry.env });
  const existing = await registry.definitions();
  if (existing.some((def) => def.name === parsed.name)) {
    // Before a long download: the definition check would refuse the name only afterwards.
    createVmDefinition({ name: parsed.name, nics: [] }, { existing });
  }
  for (const [index, cdrom] of parsed.cdroms.entries()) {
    if (cdrom.download === undefined) continue;
    const iso = await new IsoLibrary({ home: registry.home }).download({
      url: cdrom.download.url,
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onDownload ? { onProgress: options.onDownload } : {}),
    });
    const cdroms = parsed.cdroms.map((other, at) => (at === index ? { id: other.id, bus: other.bus, media: iso.path } : other));
    const osId = parsed.osId ?? (iso.detection.osId === 'unknown' ? null : iso.detection.osId);
    parsed = { ...parsed, cdroms, osId };
  }
  const { planned, input } = await planVolumes(storage, parsed);
  const def = createVmDefinition(input, { existing, host: await registry.hostLimits(parsed.machine) });
  await assertFilesUsable({ ...def, disks: def.disks.filter((disk) => !planned.some((p) => p.path === disk.source)) });
  const created: string[] = [];
  try {
    for (const volume of planned) {
      await storage.createVolume({ pool: volume.pool, name: volume.name, format: volume.format, sizeBytes: volume.sizeBytes, ...(options.signal ? { signal: options.signal } : {}) });
      created.push(volume.path);
    }
    return await registry.store.create(def);
  } catch (error) {
    await Promise.all(created.map((path) => rm(path, { force: true })));
    throw error;
  }
}
