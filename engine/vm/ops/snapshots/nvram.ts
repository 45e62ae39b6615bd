import { copyFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/** The per-VM UEFI variable stores engine/vm/ops/start.ts keeps in the VM's data folder. */
const NVRAM_FILE = /^nvram(-secboot)?\.(fd|qcow2)$/;

/**
 * Copies a VM's UEFI variable store(s) from one folder to another (into a snapshot, back from it,
 * into a clone). The store is a small raw file that cannot hold internal snapshots, so it travels
 * as a copy. Returns the names copied.
 */
export async function copyNvramFiles(fromDir: string, toDir: string): Promise<string[]> {
  const names = await readdir(fromDir).then((entries) => entries.filter((entry) => NVRAM_FILE.test(entry)), () => [] as string[]);
  for (const name of names) await copyFile(join(fromDir, name), join(toDir, name));
  return names;
}
