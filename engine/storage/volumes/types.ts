import type { PoolRegistry } from '../pools/pool-registry';
import type { UsageResolver, VolumeUser } from '../usage';

/** A file in a pool, as qemu-img sees it. */
export interface Volume {
  pool: string;
  name: string;
  /** Absolute path inside the pool folder (for a reference, the link in the pool). */
  path: string;
  format: string;
  virtualSize: number;
  /** Bytes used on the host. */
  allocation: number;
  backingFile?: string;
  backingPath?: string;
  backingFormat?: string;
  dirty: boolean;
  corrupt: boolean;
  /** Set when the volume was imported by reference: the file it points at, which stays where it is. */
  referenceTo?: string;
  /** VMs whose definitions use this file. */
  usedBy: VolumeUser[];
  /** Linked clones (paths) that use this file as their base image. */
  baseOf: string[];
  /** Set when the file could not be read as an image; the other fields are then zero. */
  problem?: string;
}

export interface StorageContext {
  pools: PoolRegistry;
  usage: UsageResolver;
  /** Where qemu-img is looked up (`$VIRTDESK_QEMU_IMG`, PATH). Default: process.env. */
  env?: NodeJS.ProcessEnv;
}
