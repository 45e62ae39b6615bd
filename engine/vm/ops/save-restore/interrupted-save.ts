import { readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { acquireFileLock } from '../../../store/file-lock';
import { writeFileAtomic } from '../../../store/atomic-write';
import type { VmDefinition } from '../../../model';
import { findRunningQemu } from '../../runtime/pidfile';
import { withCommandQmp } from '../../runtime/qmp-session';
import { vmRuntimePaths } from '../../runtime/paths';
import { clearLastExit } from '../../runtime/records';
import { partialMemoryFile, savedMemoryFile, savedStateDir } from './saved-state';
import { savedStateRecordFile } from '../../runtime/paths';

/**
 * A save under way: `saved/.save.lock` is held by the saving process for the whole save, and
 * `saved/.save-intent.json` says whether the guest ran before it was paused. Both outlive a
 * save that is killed, which is how the next look at the VM finds it (see recoverInterruptedSave).
 */
interface SaveIntent {
  wasRunning: boolean;
  startedAt: string;
}

function saveLockFile(home: string, vmId: string): string {
  return join(savedStateDir(home, vmId), '.save.lock');
}

function saveIntentFile(home: string, vmId: string): string {
  return join(savedStateDir(home, vmId), '.save-intent.json');
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** Holds VM `vmName`'s save lock while `fn` runs; a second save at once is refused. */
export async function withSaveLock<T>(home: string, def: Pick<VmDefinition, 'id' | 'name'>, fn: () => Promise<T>): Promise<T> {
  const release = await acquireFileLock(saveLockFile(home, def.id), { timeoutMs: 0, what: `VM "${def.name}" for saving (another save of it is under way)` });
  try {
    return await fn();
  } finally {
    await release();
  }
}

export async function writeSaveIntent(home: string, vmId: string, intent: SaveIntent): Promise<void> {
  await writeFileAtomic(saveIntentFile(home, vmId), `${JSON.stringify(intent)}\n`);
}

export async function clearSaveIntent(home: string, vmId: string): Promise<void> {
  await rm(saveIntentFile(home, vmId), { force: true });
}

async function readSaveIntent(home: string, vmId: string): Promise<SaveIntent | undefined> {
  try {
    const value = JSON.parse(await readFile(saveIntentFile(home, vmId), 'utf8')) as Partial<SaveIntent>;
    return { wasRunning: value.wasRunning !== false, startedAt: typeof value.startedAt === 'string' ? value.startedAt : 'an unknown time' };
  } catch {
    return undefined;
  }
}

const MIGRATION_CANCEL_WAIT_MS = 10_000;

/** Cancels a migration QEMU still runs for a save nobody follows, and lets the guest run again if it ran before. */
async function resumeGuest(def: VmDefinition, ctx: { home: string; env: NodeJS.ProcessEnv }, wasRunning: boolean): Promise<void> {
  const paths = vmRuntimePaths(ctx.home, def.id, ctx.env);
  await withCommandQmp(paths, def.name, async (qmp) => {
    const deadline = Date.now() + MIGRATION_CANCEL_WAIT_MS;
    for (;;) {
      const info = await qmp.queryMigrate();
      if (info.status !== 'active' && info.status !== 'setup' && info.status !== 'cancelling' && info.status !== 'pre-switchover' && info.status !== 'device') break;
      if (info.status !== 'cancelling') await qmp.migrateCancel();
      if (Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    if (wasRunning && !(await qmp.queryStatus()).running) await qmp.cont();
  });
}

/**
 * Rolls back a save (`virtdesk vm save`) whose process was killed midway, on the next look at the
 * VM: a save that still runs (its lock is held by a live process) is left alone. If the VM's QEMU
 * still runs, the save never finished: its files go (partial, or complete but not recorded as
 * done) and the guest runs again as before. If QEMU is gone and the record was written, the save
 * did finish. Returns what the user should be told, or undefined when nothing was interrupted.
 */
export async function recoverInterruptedSave(def: VmDefinition, ctx: { home: string; env: NodeJS.ProcessEnv }): Promise<string | undefined> {
  const partial = partialMemoryFile(ctx.home, def.id);
  if (!(await exists(saveIntentFile(ctx.home, def.id))) && !(await exists(partial))) return undefined;
  let release: () => Promise<void>;
  try {
    release = await acquireFileLock(saveLockFile(ctx.home, def.id), { timeoutMs: 0 });
  } catch {
    return undefined;
  }
  try {
    const intent = await readSaveIntent(ctx.home, def.id);
    const qemu = await findRunningQemu(vmRuntimePaths(ctx.home, def.id, ctx.env));
    await rm(partial, { force: true });
    if (qemu === undefined) {
      const finished = await exists(savedStateRecordFile(ctx.home, def.id));
      if (!finished) await rm(savedMemoryFile(ctx.home, def.id), { force: true });
      await clearSaveIntent(ctx.home, def.id);
      return finished ? undefined : `A save of VM "${def.name}" was interrupted and its QEMU has ended since; nothing was saved and the partial file was removed.`;
    }
    // QEMU runs: whatever was written is not the guest's state any more once it runs on.
    await rm(savedStateRecordFile(ctx.home, def.id), { force: true });
    await rm(savedMemoryFile(ctx.home, def.id), { force: true });
    // The save may have got as far as saying it stops the VM on purpose; it no longer does.
    const paths = vmRuntimePaths(ctx.home, def.id, ctx.env);
    await Promise.all([rm(paths.stopIntent, { force: true }), clearLastExit(paths)]);
    const wasRunning = intent?.wasRunning ?? true;
    await resumeGuest(def, ctx, wasRunning);
    await clearSaveIntent(ctx.home, def.id);
    return `A save of VM "${def.name}" (started ${intent?.startedAt ?? 'at an unknown time'}) was interrupted before it finished; its partial file was removed${wasRunning ? ' and the guest runs again' : ''}. Nothing was saved: save again if you still want to.`;
  } finally {
    await release();
  }
}
