import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EngineError } from '../../api/errors';
import { writeFileAtomic } from '../../store';
import { childrenNamed, childText, parseXml, type XmlElement } from './xml';

/** One `<media><iso>` entry: patterns (regular expressions) for the ISO's descriptor fields. */
export interface OsinfoMediaPattern {
  arch: string;
  variants: string[];
  volumeId?: string;
  systemId?: string;
  publisherId?: string;
  applicationId?: string;
  volumeSize?: number;
  live: boolean;
  installer: boolean;
}

export interface OsinfoResourceSet {
  cpuHz?: number;
  nCpus?: number;
  ramBytes?: number;
  storageBytes?: number;
}

export interface OsinfoResources {
  arch: string;
  /** libosinfo's `inherit="true"`: take the values of the OS this one derives from. */
  inherit: boolean;
  minimum?: OsinfoResourceSet;
  recommended?: OsinfoResourceSet;
}

export interface OsinfoOs {
  /** The database's URI id, e.g. http://debian.org/debian/11. */
  uri: string;
  /** libosinfo's short id, e.g. debian11, the id Virtdesk shows and stores. */
  shortId: string;
  name: string;
  version?: string;
  vendor?: string;
  family?: string;
  distro?: string;
  releaseStatus?: string;
  derivesFrom?: string;
  media: OsinfoMediaPattern[];
  resources: OsinfoResources[];
}

export interface OsinfoIndex {
  /** The database's VERSION file, e.g. 20221203. */
  version: string;
  directory: string;
  oses: OsinfoOs[];
  /** Files that could not be read, with why; the rest of the database is still used. */
  problems: string[];
}

export const DEFAULT_OSINFO_DIR = '/usr/share/osinfo';
const INDEX_FORMAT = 1;

function numberOf(text: string | undefined): number | undefined {
  if (text === undefined || text === '') return undefined;
  const value = Number(text);
  return Number.isFinite(value) ? value : undefined;
}

function resourceSet(element: XmlElement | undefined): OsinfoResourceSet | undefined {
  if (!element) return undefined;
  const set: OsinfoResourceSet = {};
  const cpu = numberOf(childText(element, 'cpu'));
  const nCpus = numberOf(childText(element, 'n-cpus'));
  const ram = numberOf(childText(element, 'ram'));
  const storage = numberOf(childText(element, 'storage'));
  if (cpu !== undefined) set.cpuHz = cpu;
  if (nCpus !== undefined) set.nCpus = nCpus;
  if (ram !== undefined) set.ramBytes = ram;
  if (storage !== undefined) set.storageBytes = storage;
  return set;
}

function readOs(element: XmlElement): OsinfoOs | undefined {
  const uri = element.attributes.id;
  const shortId = childText(element, 'short-id');
  const name = childText(element, 'name');
  if (!uri || !shortId || !name) return undefined;
  const os: OsinfoOs = { uri, shortId, name, media: [], resources: [] };
  const optional = { version: 'version', vendor: 'vendor', family: 'family', distro: 'distro', releaseStatus: 'release-status' } as const;
  for (const [key, tag] of Object.entries(optional) as [keyof typeof optional, string][]) {
    const value = childText(element, tag);
    if (value) os[key] = value;
  }
  const derives = childrenNamed(element, 'derives-from')[0]?.attributes.id;
  if (derives) os.derivesFrom = derives;
  for (const media of childrenNamed(element, 'media')) {
    const iso = childrenNamed(media, 'iso')[0];
    if (!iso) continue;
    const pattern: OsinfoMediaPattern = {
      arch: media.attributes.arch ?? 'all',
      variants: childrenNamed(media, 'variant').map((v) => v.attributes.id ?? '').filter(Boolean),
      live: media.attributes.live === 'true',
      installer: media.attributes.installer !== 'false',
    };
    const fields = { volumeId: 'volume-id', systemId: 'system-id', publisherId: 'publisher-id', applicationId: 'application-id' } as const;
    for (const [key, tag] of Object.entries(fields) as [keyof typeof fields, string][]) {
      const value = childText(iso, tag);
      if (value !== undefined && value !== '') pattern[key] = value;
    }
    const size = numberOf(childText(iso, 'volume-size'));
    if (size !== undefined && size > 0) pattern.volumeSize = size;
    os.media.push(pattern);
  }
  for (const res of childrenNamed(element, 'resources')) {
    const entry: OsinfoResources = { arch: res.attributes.arch ?? 'all', inherit: res.attributes.inherit === 'true' };
    const minimum = resourceSet(childrenNamed(res, 'minimum')[0]);
    const recommended = resourceSet(childrenNamed(res, 'recommended')[0]);
    if (minimum) entry.minimum = minimum;
    if (recommended) entry.recommended = recommended;
    os.resources.push(entry);
  }
  return os;
}

async function xmlFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => e.isFile() && e.name.endsWith('.xml'))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

/** Parses every OS file of an osinfo-db installation (its `os/` folder). */
export async function buildOsinfoIndex(directory: string = DEFAULT_OSINFO_DIR): Promise<OsinfoIndex> {
  const version = await osinfoVersion(directory);
  const index: OsinfoIndex = { version, directory, oses: [], problems: [] };
  for (const file of await xmlFiles(join(directory, 'os'))) {
    try {
      const root = parseXml(await readFile(file, 'utf8'));
      for (const element of childrenNamed(root, 'os')) {
        const os = readOs(element);
        if (os) index.oses.push(os);
      }
    } catch (error) {
      index.problems.push(`${file}: ${(error as Error).message}`);
    }
  }
  return index;
}

async function osinfoVersion(directory: string): Promise<string> {
  try {
    return (await readFile(join(directory, 'VERSION'), 'utf8')).trim();
  } catch {
    throw new EngineError('unavailable', `The OS database (osinfo-db) was not found in ${directory}.`, {
      hint: 'Install it with `apt install osinfo-db` (Debian/Ubuntu) or `dnf install osinfo-db` (Fedora). Without it every ISO is reported as "unknown".',
    });
  }
}

const memory = new Map<string, OsinfoIndex>();

/**
 * The index of an osinfo-db installation, built once per database version: kept in memory and in
 * `<cacheDir>/osinfo-<version>.json`, so a new osinfo-db package is picked up automatically.
 */
export async function loadOsinfoIndex(options: { directory?: string; cacheDir?: string } = {}): Promise<OsinfoIndex> {
  const directory = options.directory ?? DEFAULT_OSINFO_DIR;
  const version = await osinfoVersion(directory);
  const key = `${directory}\u0000${version}`;
  const cached = memory.get(key);
  if (cached) return cached;
  const cacheFile = options.cacheDir ? join(options.cacheDir, `osinfo-${version}.json`) : undefined;
  if (cacheFile) {
    try {
      const stored = JSON.parse(await readFile(cacheFile, 'utf8')) as { format: number; index: OsinfoIndex };
      if (stored.format === INDEX_FORMAT && stored.index.version === version && stored.index.directory === directory) {
        memory.set(key, stored.index);
        return stored.index;
      }
    } catch {
      // No cache yet, or an unreadable one: rebuild.
    }
  }
  const index = await buildOsinfoIndex(directory);
  memory.set(key, index);
  if (cacheFile && options.cacheDir) {
    await mkdir(options.cacheDir, { recursive: true });
    await writeFileAtomic(cacheFile, JSON.stringify({ format: INDEX_FORMAT, index }), 0o644);
  }
  return index;
}

/** Forgets the in-memory copies (tests). */
export function clearOsinfoMemoryCache(): void {
  memory.clear();
}
