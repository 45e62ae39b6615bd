import { randomUUID } from 'node:crypto';
import { mkdir, rm, stat } from 'node:fs/promises';
import { basename, isAbsolute, join, resolve } from 'node:path';
import * as z from 'zod';
import { EngineError } from '../../api/errors';
import { createDocumentStore, isDocumentId, type DocumentStore } from '../../store';
import { downloadFile, fileNameFromUrl, type DownloadProgress } from '../download/download';
import { validateVolumeName } from '../pools/names';
import { canonicalPath, describeUsers, noUsage, type UsageResolver } from '../usage';
import { detectOs, type OsDetection } from './detect-os';
import { readIsoLabel, type IsoLabel } from './iso9660';
import { loadOsinfoIndex, type OsinfoIndex } from './osinfo-db';

export interface IsoEntry {
  id: string;
  /** Unique in the library; the file name unless given. */
  name: string;
  path: string;
  sizeBytes: number;
  label: IsoLabel;
  detection: OsDetection;
  addedAt: string;
}

export interface IsoListItem extends IsoEntry {
  /** The file is gone or unreadable; the entry stays until removed. */
  missing: boolean;
}

const labelSchema = z.object({
  systemId: z.string(),
  volumeId: z.string(),
  volumeSetId: z.string(),
  publisherId: z.string(),
  dataPreparerId: z.string(),
  applicationId: z.string(),
  volumeSize: z.number(),
});
const entrySchema = z.object({
  id: z.string(),
  name: z.string(),
  path: z.string(),
  sizeBytes: z.number(),
  label: labelSchema,
  detection: z.looseObject({ osId: z.string() }),
  addedAt: z.string(),
});

export interface IsoLibraryOptions {
  home: string;
  /** osinfo-db's folder; default /usr/share/osinfo. */
  osinfoDir?: string;
  usage?: UsageResolver;
}

/** The install media the user has added: local ISO files, their labels and the OS each one installs. */
export class IsoLibrary {
  /** Where downloaded ISOs are stored. Added ISOs stay where they are. */
  readonly folder: string;
  private readonly store: DocumentStore<IsoEntry>;
  private readonly cacheDir: string;
  private readonly osinfoDir: string | undefined;
  private readonly usage: UsageResolver;

  constructor(options: IsoLibraryOptions) {
    this.folder = join(options.home, 'isos');
    this.cacheDir = join(options.home, 'cache');
    this.osinfoDir = options.osinfoDir;
    this.usage = options.usage ?? noUsage;
    this.store = createDocumentStore<IsoEntry>({
      root: join(options.home, 'storage', 'isos'),
      kind: 'iso',
      label: 'ISO',
      fileName: 'iso.json',
      parse: (raw) => entrySchema.parse(raw) as unknown as IsoEntry,
      migrate: (raw) => raw,
      currentVersion: 1,
      checkUnique: (candidate, others) => {
        const clash = others.find((o) => o.id !== candidate.id && o.path === candidate.path);
        if (clash) throw new EngineError('already-exists', `${candidate.path} is already in the ISO library as "${clash.name}".`);
      },
    });
  }

  private async index(): Promise<OsinfoIndex | undefined> {
    try {
      return await loadOsinfoIndex({ ...(this.osinfoDir ? { directory: this.osinfoDir } : {}), cacheDir: this.cacheDir });
    } catch (error) {
      if (error instanceof EngineError && error.code === 'unavailable') return undefined;
      throw error;
    }
  }

  private async detectLabel(label: IsoLabel): Promise<OsDetection> {
    const index = await this.index();
    if (!index) return { osId: 'unknown', reason: 'The OS database (osinfo-db) is not installed, so no media can be identified.' };
    return detectOs(label, index);
  }

  /** Reads an ISO's labels and identifies its OS, without adding it. */
  async detect(path: string): Promise<{ path: string; label: IsoLabel; detection: OsDetection }> {
    const full = resolve(path);
    const label = await readIsoLabel(full);
    return { path: full, label, detection: await this.detectLabel(label) };
  }

  /** Adds a local ISO file (left where it is). Refuses files that are not ISO 9660 images. */
  async add(path: string, options: { name?: string } = {}): Promise<IsoEntry> {
    if (!isAbsolute(path)) throw new EngineError('invalid-argument', `Give the ISO file as an absolute path, not "${path}".`);
    const real = await canonicalPath(path);
    const stats = await stat(real).catch(() => undefined);
    if (!stats) throw new EngineError('not-found', `"${path}" does not exist.`);
    if (!stats.isFile()) throw new EngineError('invalid-argument', `"${path}" is not a regular file.`);
    const { label, detection } = await this.detect(real);
    const name = options.name ?? basename(real);
    if (name.length === 0 || name.includes('/') || name.includes('\u0000')) throw new EngineError('invalid-argument', `"${name}" is not a valid name for an ISO.`);
    return this.store.create({ id: randomUUID(), name, path: real, sizeBytes: stats.size, label, detection, addedAt: new Date().toISOString() });
  }

  /**
   * Downloads an ISO into the library's folder and adds it. A checksum mismatch or a file that is not
   * an ISO leaves the library as it was (the partial or wrong file is removed).
   */
  async download(request: { url: string; name?: string; sha256?: string; onProgress?: (p: DownloadProgress) => void; signal?: AbortSignal }): Promise<IsoEntry> {
    const name = request.name ?? fileNameFromUrl(request.url);
    if (!name) throw new EngineError('invalid-argument', `The URL ${request.url} has no file name; give one with --name.`);
    validateVolumeName(name);
    if (await this.store.findByName(name)) throw new EngineError('already-exists', `The ISO library already has "${name}".`);
    await mkdir(this.folder, { recursive: true });
    const target = join(this.folder, name);
    const options: Parameters<typeof downloadFile>[0] = { url: request.url, target };
    if (request.sha256) options.sha256 = request.sha256;
    if (request.onProgress) options.onProgress = request.onProgress;
    if (request.signal) options.signal = request.signal;
    await downloadFile(options);
    try {
      return await this.add(target, { name });
    } catch (error) {
      await rm(target, { force: true });
      throw error;
    }
  }

  /** Every entry; detections made with an older osinfo-db are redone with the installed one. */
  async list(): Promise<{ isos: IsoListItem[]; problems: string[] }> {
    const { items, problems } = await this.store.list();
    const index = await this.index();
    const isos = await Promise.all(
      items.map(async (entry): Promise<IsoListItem> => {
        const missing = !(await stat(entry.path).then((s) => s.isFile()).catch(() => false));
        if (index && !missing && entry.detection.database !== index.version) {
          const detection = detectOs(entry.label, index);
          const updated = await this.store.update(entry.id, () => ({ detection })).catch(() => ({ ...entry, detection }));
          return { ...updated, missing };
        }
        return { ...entry, missing };
      }),
    );
    return { isos, problems: problems.map((p) => p.message) };
  }

  async get(nameOrId: string): Promise<IsoEntry> {
    if (isDocumentId(nameOrId)) return this.store.get(nameOrId);
    const found = await this.store.findByName(nameOrId);
    if (!found) throw new EngineError('not-found', `There is no ISO named "${nameOrId}" in the library.`, { hint: 'See `virtdesk iso list`.' });
    return found;
  }

  /**
   * Forgets an ISO. The file is deleted only when it lives in the library's own folder (a download)
   * and `deleteFile` is set; a file the user added stays where it is.
   */
  async remove(nameOrId: string, options: { deleteFile?: boolean } = {}): Promise<{ entry: IsoEntry; deletedFile: boolean }> {
    const entry = await this.get(nameOrId);
    const running = (await this.usage(entry.path)).filter((u) => u.running);
    if (running.length > 0) {
      throw new EngineError('conflict', `Cannot remove "${entry.name}": it is in the CD-ROM of the running VM ${describeUsers(running)}.`, { hint: 'Eject it first.' });
    }
    await this.store.delete(entry.id);
    const ownFile = resolve(entry.path, '..') === resolve(this.folder);
    if (options.deleteFile && ownFile) {
      await rm(entry.path, { force: true });
      return { entry, deletedFile: true };
    }
    return { entry, deletedFile: false };
  }
}
