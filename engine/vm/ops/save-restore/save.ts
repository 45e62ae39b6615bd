import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { EngineError } from '../../../api/errors';
import type { VmDefinition } from '../../../model';
import type { QmpClient } from '../../../qemu/qmp';
import { freeBytes } from '../../../storage/free-space';
import { recordExit, type ControlContext } from '../control';
import { waitForExit } from '../../runtime/pidfile';
import { withCommandQmp } from '../../runtime/qmp-session';
import { vmRuntimePaths } from '../../runtime/paths';
import { writeLastExit, writeStopIntent } from '../../runtime/records';
import { probeVmStatus } from '../../runtime/probe';
import { clearSaveIntent, recoverInterruptedSave, withSaveLock, writeSaveIntent } from './interrupted-save';
import { partialMemoryFile, savedMemoryFile, savedStateDir, writeSavedStateRecord } from './saved-state';

export interface SaveOptions {
  /** Cancels the save; the VM then keeps running as before. */
  signal?: AbortSignal;
  /** Fraction of the guest's memory written, 0–1. */
  onProgress?: (fraction: number) => void;
}

export interface SaveResult {
  file: string;
  sizeBytes: number;
  /** How long QEMU took to write the state (the guest was paused for it). */
  durationMs: number;
}

const POLL_MS = 50;
const QUIT_WAIT_MS = 10_000;
/** No throttling: the guest is paused, so the stream is as big as it will get; the disk is the limit. */
const UNLIMITED_BANDWIDTH = 2 ** 40;

async function logSize(path: string): Promise<number> {
  return stat(path).then((info) => info.size, () => 0);
}

async function logSince(path: string, offset: number): Promise<string> {
  try {
    const handle = await open(path, 'r');
    try {
      const { size } = await handle.stat();
      const buffer = Buffer.alloc(Math.max(0, Math.min(size - offset, 16 * 1024)));
      await handle.read(buffer, 0, buffer.length, offset);
      return buffer.toString('utf8');
    } finally {
      await handle.close();
    }
  } catch {
    return '';
  }
}

/** Follows `migrate` to its end; throws with QEMU's reason when it fails or is cancelled. */
async function waitForMigration(qmp: QmpClient, options: SaveOptions): Promise<void> {
  let cancelled = false;
  const onAbort = () => {
    cancelled = true;
    void qmp.migrateCancel().catch(() => undefined);
  };
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for (;;) {
      const info = await qmp.queryMigrate();
      if (info.ram && info.ram.total > 0) options.onProgress?.(Math.min(1, (info.ram.total - info.ram.remaining) / info.ram.total));
      if (info.status === 'completed') return;
      if (info.status === 'failed' || info.status === 'cancelled') {
        if (cancelled || info.status === 'cancelled') throw new EngineError('cancelled', 'Saving was cancelled.');
        throw new EngineError('qemu-error', `QEMU could not write the state: ${info['error-desc'] ?? 'migration failed'}`);
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
}

/** Writes what `cat` buffered to the disk, so a host crash right after cannot lose the state. */
async function syncFile(path: string): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    await handle.datasync();
  } finally {
    await handle.close();
  }
}

/**
 * Saves a running (or paused) VM's memory and device state to a file in its data folder and stops
 * it; its next start continues from there (see ./restore). The guest is paused, QEMU streams its
 * state through `migrate` to `exec:cat > FILE` (QEMU 7.2 has no `file:` URI), the file is synced,
 * and QEMU quits. When anything fails — e.g. the disk is full — the partial file is removed and the
 * guest runs on as if nothing happened.
 */
export async function saveVm(def: VmDefinition, ctx: ControlContext, options: SaveOptions = {}): Promise<SaveResult> {
  // A save killed earlier left the guest paused: let it run again first, so this one sees it as it was.
  await recoverInterruptedSave(def, ctx);
  await mkdir(savedStateDir(ctx.home, def.id), { recursive: true });
  return withSaveLock(ctx.home, def, () => saveHoldingLock(def, ctx, options));
}

async function saveHoldingLock(def: VmDefinition, ctx: ControlContext, options: SaveOptions): Promise<SaveResult> {
  const paths = vmRuntimePaths(ctx.home, def.id, ctx.env);
  const status = await probeVmStatus(paths, def.name);
  if (status.pid === undefined || (status.state !== 'running' && status.state !== 'paused')) {
    throw new EngineError('invalid-state', `Cannot save VM "${def.name}": it is ${status.state === 'shutting-down' ? 'shutting down' : status.state}.`, {
      ...(status.state === 'stopped' || status.state === 'crashed' ? { hint: 'Only a running or paused VM has a state to save.' } : { hint: 'Wait until it has started.' }),
    });
  }
  const pid = status.pid;
  const dir = savedStateDir(ctx.home, def.id);
  const partial = partialMemoryFile(ctx.home, def.id);
  const final = savedMemoryFile(ctx.home, def.id);
  await mkdir(dir, { recursive: true });
  await rm(partial, { force: true });
  if (options.signal?.aborted) throw new EngineError('cancelled', 'Saving was cancelled before it started.');

  const started = Date.now();
  let durationMs = 0;
  await withCommandQmp(
    paths,
    def.name,
    async (qmp) => {
      const wasRunning = (await qmp.queryStatus()).running;
      const machineType = await qmp.queryMachineType();
      const version = await qmp.queryVersion();
      const logOffset = await logSize(paths.qemuLog);
      // Before the guest is paused: a save killed from here on is rolled back by the next look at the VM.
      await writeSaveIntent(ctx.home, def.id, { wasRunning, startedAt: new Date(started).toISOString() });
      if (wasRunning) await qmp.stop();
      try {
        await qmp.migrateSetMaxBandwidth(UNLIMITED_BANDWIDTH);
        await qmp.migrateToFile(partial);
        await waitForMigration(qmp, options);
        durationMs = Date.now() - started;
        await syncFile(partial);
        const { size } = await stat(partial);
        await rename(partial, final);
        await writeSavedStateRecord(ctx.home, def.id, {
          version: 1,
          savedAt: new Date().toISOString(),
          machineType,
          runState: wasRunning ? 'running' : 'paused',
          qemuVersion: `${version.qemu.major}.${version.qemu.minor}.${version.qemu.micro}`,
          sizeBytes: size,
          durationMs,
          definition: def as unknown as Record<string, unknown>,
        });
      } catch (error) {
        // Measured before the partial file goes: a full disk shows as (nearly) no space left.
        const space = { free: await freeBytes(dir).catch(() => undefined), written: await stat(partial).then((info) => info.size, () => 0) };
        await rm(partial, { force: true });
        await rm(final, { force: true });
        // The guest goes on where it was; a failed migration leaves QEMU able to run.
        if (wasRunning) await qmp.cont().catch(() => undefined);
        await clearSaveIntent(ctx.home, def.id);
        throw await explainSaveFailure(error, def, dir, paths.qemuLog, logOffset, space);
      }
      // The supervisor takes this first-hand record over its own guess (a `quit` looks forced).
      const reason = { kind: 'user-stopped', forced: false } as const;
      await writeStopIntent(paths, { pid, forced: false, at: new Date().toISOString() });
      await writeLastExit(paths, { pid, at: new Date().toISOString(), reason });
      await qmp.quit(QUIT_WAIT_MS);
    },
    { commandTimeoutMs: 10 * 60_000 },
  );
  if (!(await waitForExit(pid, QUIT_WAIT_MS))) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
    await waitForExit(pid, QUIT_WAIT_MS);
  }
  await recordExit(def, ctx, paths, pid, { kind: 'user-stopped', forced: false });
  // Only now, with QEMU gone, is the save done: until then a killed save is rolled back.
  await clearSaveIntent(ctx.home, def.id);
  const { size } = await stat(final);
  return { file: final, sizeBytes: size, durationMs };
}

/** Below this, a failed write is taken as a full disk even when nobody said ENOSPC (cat's stderr may not fit either). */
const FULL_DISK_BYTES = 1024 * 1024;

async function explainSaveFailure(
  error: unknown,
  def: VmDefinition,
  dir: string,
  qemuLog: string,
  logOffset: number,
  space: { free: number | undefined; written: number },
): Promise<unknown> {
  if (error instanceof EngineError && error.code === 'cancelled') return new EngineError('cancelled', `Saving VM "${def.name}" was cancelled; it keeps running.`);
  const log = await logSince(qemuLog, logOffset);
  const errno = (error as NodeJS.ErrnoException).code;
  const full = /No space left|Disk quota exceeded/.test(log) || errno === 'ENOSPC' || errno === 'EDQUOT' || (space.free !== undefined && space.free < FULL_DISK_BYTES);
  if (full) {
    const mib = (bytes: number) => `${Math.floor(bytes / (1024 * 1024))} MiB`;
    return new EngineError('resource-exhausted', `Cannot save VM "${def.name}": the disk holding ${dir} is full (it filled up after ${mib(space.written)} of the state). The VM keeps running; the partial file was removed.`, {
      hint: `Free some space there (the state needs up to the guest's ${def.memory.maximumMiB} MiB of memory), then save again.`,
    });
  }
  const message = error instanceof Error ? error.message : String(error);
  const qemuSays = log.split('\n').map((line) => line.trim()).filter((line) => line.length > 0 && !line.startsWith('[virtdesk]')).slice(-3).join(' ');
  return new EngineError(error instanceof EngineError ? error.code : 'internal', `Cannot save VM "${def.name}": ${message}${qemuSays ? ` (${qemuSays})` : ''}. The VM keeps running; nothing was saved.`, {
    cause: error,
  });
}
