import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import * as z from 'zod';
import { EngineError } from '../../../api/errors';
import { withFileLock, writeFileAtomic } from '../../../store';
import { vmDataDir } from '../../runtime/paths';

/**
 * Snapshot metadata, beside the VM's definition: `vms/<id>/snapshots/<snapshot id>/snapshot.json`
 * (+ `thumbnail.png`, the UEFI variables at that moment), and `snapshots/current.json` naming the
 * snapshot the VM's state descends from (the parent of the next one). The disk contents live
 * inside the qcow2 images, under the tag `vd-<snapshot id>`.
 */

export const SNAPSHOT_KINDS = ['disk-only', 'with-memory'] as const;
export type SnapshotKind = (typeof SNAPSHOT_KINDS)[number];

const snapshotRecordSchema = z.object({
  version: z.literal(1),
  id: z.string().uuid(),
  name: z.string(),
  description: z.string().default(''),
  createdAt: z.string(),
  parentId: z.string().uuid().nullable(),
  kind: z.enum(SNAPSHOT_KINDS),
  /** What the VM was doing: a memory snapshot resumes into the same (running or paused). */
  vmState: z.enum(['running', 'paused', 'stopped']),
  /** Tag of the internal snapshot in each image. */
  tag: z.string(),
  /** Disks whose images hold the snapshot. */
  disks: z.array(z.object({ id: z.string(), source: z.string() })),
  /** Disks left out, each with why (read-only disks: the guest cannot change them). */
  skipped: z.array(z.object({ id: z.string(), source: z.string(), why: z.string() })).default([]),
  /** The disk whose image holds the memory (with-memory only). */
  vmstateDisk: z.string().nullable(),
  /** Exact QEMU machine type the memory was saved on (with-memory only). */
  machineType: z.string().nullable(),
  /** File name (in the snapshot's folder) of the UEFI variable store copy, or null. */
  nvram: z.string().nullable(),
  thumbnail: z.boolean(),
  /** The VM definition at that moment, as stored (parsed with the model when used). */
  definition: z.record(z.string(), z.unknown()),
});
export type SnapshotRecord = z.infer<typeof snapshotRecordSchema>;

export function snapshotsRoot(home: string, vmId: string): string {
  return join(vmDataDir(home, vmId), 'snapshots');
}

export function snapshotFolder(home: string, vmId: string, snapshotId: string): string {
  return join(snapshotsRoot(home, vmId), snapshotId);
}

export const THUMBNAIL_FILE = 'thumbnail.png';
const RECORD_FILE = 'snapshot.json';
const CURRENT_FILE = 'current.json';
const ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Serialises snapshot operations on one VM across processes (CLI and app). */
export async function withSnapshotLock<T>(home: string, vmId: string, fn: () => Promise<T>): Promise<T> {
  const root = snapshotsRoot(home, vmId);
  await mkdir(root, { recursive: true });
  // Long: a memory snapshot of a big VM takes a while, and the second caller should wait for it.
  return withFileLock(join(root, '.lock'), fn, { timeoutMs: 10 * 60_000, what: 'the snapshots of this VM' });
}

/** Every snapshot of a VM, oldest first; unreadable records are reported, not fatal. */
export async function readSnapshotRecords(home: string, vmId: string): Promise<{ records: SnapshotRecord[]; problems: string[] }> {
  const root = snapshotsRoot(home, vmId);
  let entries: string[];
  try {
    entries = (await readdir(root)).filter((entry) => ID.test(entry));
  } catch {
    return { records: [], problems: [] };
  }
  const records: SnapshotRecord[] = [];
  const problems: string[] = [];
  for (const entry of entries) {
    const file = join(root, entry, RECORD_FILE);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch {
      // A snapshot being created (or a half-deleted one): no record yet.
      continue;
    }
    try {
      const parsed = snapshotRecordSchema.safeParse(JSON.parse(text));
      if (parsed.success) records.push(parsed.data);
      else problems.push(`${file} is not a valid snapshot record: ${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`);
    } catch {
      problems.push(`${file} is not valid JSON.`);
    }
  }
  records.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.name.localeCompare(b.name));
  return { records, problems };
}

export async function writeSnapshotRecord(home: string, vmId: string, record: SnapshotRecord): Promise<void> {
  const folder = snapshotFolder(home, vmId, record.id);
  await mkdir(folder, { recursive: true });
  await writeFileAtomic(join(folder, RECORD_FILE), `${JSON.stringify(snapshotRecordSchema.parse(record), null, 2)}\n`);
}

export async function removeSnapshotFolder(home: string, vmId: string, snapshotId: string): Promise<void> {
  await rm(snapshotFolder(home, vmId, snapshotId), { recursive: true, force: true });
}

export async function readCurrentSnapshotId(home: string, vmId: string): Promise<string | null> {
  try {
    const value = (JSON.parse(await readFile(join(snapshotsRoot(home, vmId), CURRENT_FILE), 'utf8')) as { current?: unknown }).current;
    return typeof value === 'string' ? value : null;
  } catch {
    return null;
  }
}

export async function writeCurrentSnapshotId(home: string, vmId: string, current: string | null): Promise<void> {
  await mkdir(snapshotsRoot(home, vmId), { recursive: true });
  await writeFileAtomic(join(snapshotsRoot(home, vmId), CURRENT_FILE), `${JSON.stringify({ current })}\n`);
}

/** By name or id; not-found lists what there is. */
export function findSnapshot(records: readonly SnapshotRecord[], ref: string, vmName: string): SnapshotRecord {
  const found = records.find((record) => record.id === ref) ?? records.find((record) => record.name === ref);
  if (found) return found;
  const names = records.map((record) => `"${record.name}"`);
  throw new EngineError('not-found', `VM "${vmName}" has no snapshot "${ref}".`, {
    hint: names.length === 0 ? `It has no snapshots; take one with \`virtdesk snapshot create ${vmName} NAME\`.` : `Its snapshots: ${names.join(', ')}.`,
  });
}

export async function readThumbnail(home: string, vmId: string, record: SnapshotRecord): Promise<Buffer | null> {
  if (!record.thumbnail) return null;
  return readFile(join(snapshotFolder(home, vmId, record.id), THUMBNAIL_FILE)).catch(() => null);
}
