import { readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import * as z from 'zod';
import { writeFileAtomic } from '../../../store';
import { vmDataDir } from '../../runtime/paths';
import { savedStateRecordFile } from '../../runtime/paths';

/**
 * A VM's saved state (`virtdesk vm save`): QEMU's migration stream of the paused guest in
 * `vms/<id>/saved/memory.vmstate`, described by `vms/<id>/saved/state.json`, which is written
 * last, so a state without it was never complete.
 */
const savedStateSchema = z.object({
  version: z.literal(1),
  savedAt: z.string(),
  /** Exact machine type it was saved on; it only loads into the same one. */
  machineType: z.string(),
  /** running: the guest runs again after the restore; paused: it stays paused. */
  runState: z.enum(['running', 'paused']),
  qemuVersion: z.string(),
  sizeBytes: z.number(),
  /** How long QEMU took to write it. */
  durationMs: z.number(),
  /** The definition the guest ran with; a restore needs the same hardware. */
  definition: z.record(z.string(), z.unknown()),
});
export type SavedStateRecord = z.infer<typeof savedStateSchema>;

export function savedStateDir(home: string, vmId: string): string {
  return join(vmDataDir(home, vmId), 'saved');
}

export function savedMemoryFile(home: string, vmId: string): string {
  return join(savedStateDir(home, vmId), 'memory.vmstate');
}

/** Where QEMU writes while saving; renamed to the memory file once complete. */
export function partialMemoryFile(home: string, vmId: string): string {
  return join(savedStateDir(home, vmId), '.memory.vmstate.partial');
}

/** The saved state's record, or undefined when the VM has none (or it is unreadable, then `problem`). */
export async function readSavedState(home: string, vmId: string): Promise<(SavedStateRecord & { file: string }) | { problem: string; file: string } | undefined> {
  let text: string;
  try {
    text = await readFile(savedStateRecordFile(home, vmId), 'utf8');
  } catch {
    return undefined;
  }
  const file = savedMemoryFile(home, vmId);
  try {
    const parsed = savedStateSchema.safeParse(JSON.parse(text));
    if (!parsed.success) return { problem: `${savedStateRecordFile(home, vmId)} is not a valid saved-state record`, file };
    return { ...parsed.data, file };
  } catch {
    return { problem: `${savedStateRecordFile(home, vmId)} is not valid JSON`, file };
  }
}

/** When the VM has a saved state, when it was saved (a cheap check for lists). */
export async function savedAt(home: string, vmId: string): Promise<string | null> {
  const state = await readSavedState(home, vmId);
  if (!state) return null;
  return 'problem' in state ? (await stat(state.file).then((info) => info.mtime.toISOString(), () => null)) : state.savedAt;
}

export async function writeSavedStateRecord(home: string, vmId: string, record: SavedStateRecord): Promise<void> {
  await writeFileAtomic(savedStateRecordFile(home, vmId), `${JSON.stringify(savedStateSchema.parse(record), null, 2)}\n`);
}

/** Throws the saved state away; the next start boots afresh. */
export async function discardSavedState(home: string, vmId: string): Promise<void> {
  await rm(savedStateDir(home, vmId), { recursive: true, force: true });
}
