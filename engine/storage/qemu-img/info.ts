import { dirname, isAbsolute, resolve } from 'node:path';
import * as z from 'zod';
import { EngineError } from '../../api/errors';
import { runQemuImgOk, type QemuImgRunOptions } from './run';
import type { ImageInfo, ImageInfoWithChain, ImageSnapshot } from './types';

const snapshotSchema = z.object({
  id: z.string(),
  name: z.string(),
  'vm-state-size': z.number().default(0),
  'date-sec': z.number(),
  'date-nsec': z.number().default(0),
  'vm-clock-sec': z.number().default(0),
  'vm-clock-nsec': z.number().default(0),
});

const infoSchema = z.object({
  filename: z.string(),
  format: z.string(),
  'virtual-size': z.number(),
  'actual-size': z.number().optional(),
  'cluster-size': z.number().optional(),
  'backing-filename': z.string().optional(),
  'full-backing-filename': z.string().optional(),
  'backing-filename-format': z.string().optional(),
  'dirty-flag': z.boolean().optional(),
  encrypted: z.boolean().optional(),
  snapshots: z.array(snapshotSchema).optional(),
  'format-specific': z
    .object({ type: z.string(), data: z.record(z.string(), z.unknown()).optional() })
    .optional(),
});
type RawInfo = z.infer<typeof infoSchema>;

function toSnapshot(raw: z.infer<typeof snapshotSchema>): ImageSnapshot {
  return {
    id: raw.id,
    name: raw.name,
    vmStateSize: raw['vm-state-size'],
    date: new Date(raw['date-sec'] * 1000 + Math.floor(raw['date-nsec'] / 1e6)).toISOString(),
    vmClockNs: raw['vm-clock-sec'] * 1e9 + raw['vm-clock-nsec'],
  };
}

function toInfo(raw: RawInfo, cwd: string): ImageInfo {
  const path = isAbsolute(raw.filename) ? raw.filename : resolve(cwd, raw.filename);
  const info: ImageInfo = {
    path,
    format: raw.format,
    virtualSize: raw['virtual-size'],
    actualSize: raw['actual-size'] ?? 0,
    dirty: raw['dirty-flag'] ?? false,
    corrupt: raw['format-specific']?.data?.corrupt === true,
    encrypted: raw.encrypted ?? false,
    snapshots: (raw.snapshots ?? []).map(toSnapshot),
  };
  if (raw['cluster-size'] !== undefined) info.clusterSize = raw['cluster-size'];
  if (raw['backing-filename'] !== undefined) {
    info.backingFile = raw['backing-filename'];
    const full = raw['full-backing-filename'] ?? raw['backing-filename'];
    info.backingPath = isAbsolute(full) ? full : resolve(dirname(path), full);
  }
  if (raw['backing-filename-format'] !== undefined) info.backingFormat = raw['backing-filename-format'];
  return info;
}

export interface InfoOptions extends QemuImgRunOptions {
  /** Read the image as this format instead of probing. Leave unset to learn what the file really is. */
  format?: string;
}

/**
 * `qemu-img info --output=json --backing-chain`. Opened with `-U` (force share) so images of
 * running VMs can be inspected; the numbers may then lag behind what the VM is writing.
 */
export async function imageInfo(path: string, options: InfoOptions = {}): Promise<ImageInfoWithChain> {
  const args = ['info', '--output=json', '--backing-chain', '-U'];
  if (options.format) args.push('-f', options.format);
  args.push(path);
  const { stdout } = await runQemuImgOk(`Reading image "${path}"`, args, options);
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdout);
  } catch {
    throw new EngineError('qemu-error', `qemu-img info printed something that is not JSON for "${path}".`, { details: { stdout } });
  }
  const list = Array.isArray(parsed) ? parsed : [parsed];
  const cwd = dirname(resolve(path));
  const chain = list.map((entry) => {
    const raw = infoSchema.safeParse(entry);
    if (!raw.success) throw new EngineError('qemu-error', `qemu-img info output for "${path}" has an unexpected shape: ${raw.error.message}`);
    return toInfo(raw.data, cwd);
  });
  const top = chain[0];
  if (!top) throw new EngineError('qemu-error', `qemu-img info returned nothing for "${path}".`);
  return { ...top, path: resolve(path), chain };
}

/** The snapshots stored inside an image (what `qemu-img snapshot -l` lists), typed from `info`'s JSON. */
export async function listSnapshots(path: string, options: InfoOptions = {}): Promise<ImageSnapshot[]> {
  return (await imageInfo(path, options)).snapshots;
}
