import { realpath } from 'node:fs/promises';
import { resolve } from 'node:path';

/** A VM whose definition references an image. */
export interface VolumeUser {
  vmId: string;
  vmName: string;
  /** The VM opens the image read-only (CD-ROM, readonly disk). */
  readOnly: boolean;
  /** The VM is running now, so QEMU has the file open. */
  running: boolean;
}

/**
 * Which VMs use a path. The VM runtime supplies it (it knows definitions and which VMs run);
 * storage never reads VM definitions itself. Paths passed in are absolute and resolved through symlinks.
 */
export type UsageResolver = (path: string) => Promise<VolumeUser[]>;

export const noUsage: UsageResolver = async () => [];

/** The path with symlinks resolved when the file exists, else just made absolute. */
export async function canonicalPath(path: string): Promise<string> {
  try {
    return await realpath(path);
  } catch {
    return resolve(path);
  }
}

export function describeUsers(users: readonly VolumeUser[]): string {
  return users.map((u) => `"${u.vmName}"${u.running ? ' (running' + (u.readOnly ? ', read-only)' : ')') : ''}`).join(', ');
}
