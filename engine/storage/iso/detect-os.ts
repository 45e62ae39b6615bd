import type { IsoLabel } from './iso9660';
import type { OsinfoIndex, OsinfoMediaPattern, OsinfoOs, OsinfoResourceSet } from './osinfo-db';

export interface ResourceHint {
  memoryMiB?: number;
  vcpus?: number;
  diskBytes?: number;
}

export interface DetectedOs {
  /** libosinfo's short id, e.g. debian11. */
  osId: string;
  name: string;
  version?: string;
  vendor?: string;
  family?: string;
  /** The architecture of the media entry that matched. */
  arch: string;
  live: boolean;
  /** What the database recommends; a field the database leaves out falls back to its minimum, else stays unset. */
  recommended: ResourceHint;
  minimum: ResourceHint;
  /** The osinfo-db version that said so. */
  database: string;
}

export interface UnknownOs {
  osId: 'unknown';
  /** Why nothing is claimed. */
  reason: string;
  /** When the media matches several OSes the database cannot tell apart: each of them. None is picked. */
  candidates?: { osId: string; name: string }[];
  database?: string;
}

export type OsDetection = DetectedOs | UnknownOs;

const compiled = new Map<string, RegExp | null>();

/** libosinfo matches with GRegex (PCRE), unanchored and case-sensitive; these patterns are also valid JS. */
function matches(pattern: string | undefined, value: string): boolean {
  if (pattern === undefined) return true;
  let regex = compiled.get(pattern);
  if (regex === undefined) {
    try {
      regex = new RegExp(pattern);
    } catch {
      regex = null;
    }
    compiled.set(pattern, regex);
  }
  return regex !== null && value !== '' && regex.test(value);
}

/** The same rule as libosinfo's osinfo_media_matches (the ISO's own architecture is unknown, so any entry may match). */
export function mediaMatches(label: IsoLabel, media: OsinfoMediaPattern): boolean {
  if (media.volumeId === undefined && media.systemId === undefined && media.publisherId === undefined && media.applicationId === undefined && media.volumeSize === undefined) {
    return false;
  }
  return (
    matches(media.volumeId, label.volumeId) &&
    matches(media.applicationId, label.applicationId) &&
    matches(media.systemId, label.systemId) &&
    matches(media.publisherId, label.publisherId) &&
    (media.volumeSize === undefined || media.volumeSize === label.volumeSize)
  );
}

/** libosinfo tries entries for "all" architectures and rolling releases only when nothing specific matched. */
function isFallback(os: OsinfoOs, media: OsinfoMediaPattern): boolean {
  return media.arch === 'all' || os.releaseStatus === 'rolling';
}

function mib(bytes: number | undefined): number | undefined {
  return bytes === undefined ? undefined : Math.round(bytes / 2 ** 20);
}

function hint(set: OsinfoResourceSet | undefined, fallback?: OsinfoResourceSet): ResourceHint {
  const result: ResourceHint = {};
  const memory = mib(set?.ramBytes ?? fallback?.ramBytes);
  const vcpus = set?.nCpus ?? fallback?.nCpus;
  const disk = set?.storageBytes ?? fallback?.storageBytes;
  if (memory !== undefined) result.memoryMiB = memory;
  if (vcpus !== undefined && vcpus > 0) result.vcpus = vcpus;
  if (disk !== undefined) result.diskBytes = disk;
  return result;
}

/** Resources for an architecture: that arch's entry, else "all"; `inherit="true"` follows derives-from, as libosinfo does. */
function resourcesFor(index: OsinfoIndex, os: OsinfoOs, arch: string, depth = 0): { minimum?: OsinfoResourceSet; recommended?: OsinfoResourceSet } {
  const entry = os.resources.find((r) => r.arch === arch) ?? os.resources.find((r) => r.arch === 'all');
  if (entry && !entry.inherit) return { ...(entry.minimum ? { minimum: entry.minimum } : {}), ...(entry.recommended ? { recommended: entry.recommended } : {}) };
  if (entry?.inherit && os.derivesFrom && depth < 10) {
    const parent = index.oses.find((o) => o.uri === os.derivesFrom);
    if (parent) return resourcesFor(index, parent, arch, depth + 1);
  }
  return {};
}

/** An OS as a detection of `media` reports it (also used to list the database's OSes for searching). */
export function describe(index: OsinfoIndex, os: OsinfoOs, media: OsinfoMediaPattern): DetectedOs {
  const arch = media.arch === 'all' ? 'x86_64' : media.arch;
  const { minimum, recommended } = resourcesFor(index, os, arch);
  const detected: DetectedOs = {
    osId: os.shortId,
    name: os.name,
    arch: media.arch,
    live: media.live,
    recommended: hint(recommended, minimum),
    minimum: hint(minimum),
    database: index.version,
  };
  if (os.version) detected.version = os.version;
  if (os.vendor) detected.vendor = os.vendor;
  if (os.family) detected.family = os.family;
  return detected;
}

// x86_64 media first: a volume id that also fits another architecture's entry describes the same OS.
const ARCH_PREFERENCE = ['x86_64', 'i686', 'all'];
function archRank(arch: string): number {
  const index = ARCH_PREFERENCE.indexOf(arch);
  return index < 0 ? ARCH_PREFERENCE.length : index;
}

/**
 * Identifies install media by its ISO 9660 labels against osinfo-db's media patterns. A single OS
 * matching is reported with the database's name and resources. Several OSes matching the same
 * media (Windows 10 and 11 ship ISOs with identical labels) are reported as unknown with the
 * candidates listed, and nothing matching is unknown: never a guess presented as fact.
 */
export function detectOs(label: IsoLabel, index: OsinfoIndex): OsDetection {
  const collect = (fallback: boolean) => {
    const found = new Map<string, { os: OsinfoOs; media: OsinfoMediaPattern }>();
    for (const os of index.oses) {
      const hits = os.media.filter((m) => isFallback(os, m) === fallback && mediaMatches(label, m)).sort((a, b) => archRank(a.arch) - archRank(b.arch));
      const best = hits[0];
      if (best && !found.has(os.uri)) found.set(os.uri, { os, media: best });
    }
    return [...found.values()];
  };
  let hits = collect(false);
  if (hits.length === 0) hits = collect(true);
  if (hits.length === 1) {
    const [hit] = hits;
    if (hit) return describe(index, hit.os, hit.media);
  }
  if (hits.length > 1) {
    const candidates = hits.map((h) => ({ osId: h.os.shortId, name: h.os.name })).sort((a, b) => a.osId.localeCompare(b.osId));
    return {
      osId: 'unknown',
      reason: `The labels of this media match ${candidates.length} operating systems in osinfo-db ${index.version} (${candidates.map((c) => c.name).join(', ')}), which cannot be told apart from the ISO alone.`,
      candidates,
      database: index.version,
    };
  }
  return {
    osId: 'unknown',
    reason: label.volumeId
      ? `No operating system in osinfo-db ${index.version} has install media labelled "${label.volumeId}".`
      : `The media has no volume label, so osinfo-db ${index.version} cannot identify it.`,
    database: index.version,
  };
}

export function isUnknownOs(detection: OsDetection): detection is UnknownOs {
  return detection.osId === 'unknown';
}
