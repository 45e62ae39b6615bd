/** Formats Virtdesk creates. qemu-img can read many more (vmdk, vdi, vhdx, ...); those are reported as they are. */
export const CREATABLE_FORMATS = ['qcow2', 'raw'] as const;
export type CreatableFormat = (typeof CREATABLE_FORMATS)[number];

export const PREALLOCATION_MODES = ['off', 'metadata', 'falloc', 'full'] as const;
export type Preallocation = (typeof PREALLOCATION_MODES)[number];

export interface ImageSnapshot {
  id: string;
  name: string;
  /** Size of saved VM state in bytes (0 for disk-only snapshots). */
  vmStateSize: number;
  /** When it was taken, ISO 8601. */
  date: string;
  /** Guest clock at the snapshot, in nanoseconds. */
  vmClockNs: number;
}

export interface ImageInfo {
  path: string;
  /** As qemu-img reports it: qcow2, raw, vmdk, ... */
  format: string;
  virtualSize: number;
  /** Bytes the file occupies on the host (allocation). */
  actualSize: number;
  clusterSize?: number;
  /** The backing file as written in the image (may be relative to the image's folder). */
  backingFile?: string;
  /** The backing file resolved to a path. */
  backingPath?: string;
  backingFormat?: string;
  /** Set when the image was not closed cleanly (qcow2 lazy refcounts). */
  dirty: boolean;
  /** qcow2 found an inconsistency and marked the image corrupt; it opens read-only until repaired. */
  corrupt: boolean;
  encrypted: boolean;
  snapshots: ImageSnapshot[];
}

/** An image and the images below it, top first (chain[0] is the image itself). */
export interface ImageInfoWithChain extends ImageInfo {
  chain: ImageInfo[];
}

export interface ProgressEvent {
  /** 0–100, as qemu-img reports it. */
  percent: number;
}
export type ProgressListener = (event: ProgressEvent) => void;
