import type { Preferences } from '../../../api/preferences-api';
import type { VmManager } from '../../manager';

export interface QuitOutcome {
  saved: string[];
  shutDown: string[];
  /** VMs the preference could not be applied to; they keep running. */
  failed: { name: string; message: string }[];
}

/** How many VMs are saved or shut down at once: each save writes a memory image, the disk is the limit. */
const PARALLEL = 2;

/** How long quitting waits for each guest to shut down. */
const QUIT_STOP_WAIT_MS = 60_000;

async function inBatches<T>(items: readonly T[], size: number, fn: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(fn));
}

/**
 * What quitting the app does to running VMs (Preferences → onQuit): keep them running (nothing to
 * do: QEMU outlives the app), save them (each resumes where it was on its next start), or shut them
 * down (ACPI; the app waits up to the stop timeout, a guest still running then is reported and never forced). The Electron host calls this before it closes the
 * engine; a VM the preference cannot be applied to keeps running and is reported.
 */
export async function applyQuitPreference(manager: VmManager, preference: Preferences['onQuit'], options: { stopTimeoutMs?: number } = {}): Promise<QuitOutcome> {
  const outcome: QuitOutcome = { saved: [], shutDown: [], failed: [] };
  if (preference === 'keep-running') return outcome;
  const running = (await manager.list()).filter((vm) => vm.state === 'running' || vm.state === 'paused');
  await inBatches(running, PARALLEL, async (vm) => {
    try {
      if (preference === 'save') {
        await manager.save(vm.id);
        outcome.saved.push(vm.name);
      } else {
        const result = await manager.stop(vm.id, { waitMs: options.stopTimeoutMs ?? QUIT_STOP_WAIT_MS });
        if (result.stopped) outcome.shutDown.push(vm.name);
        else outcome.failed.push({ name: vm.name, message: `The guest did not shut down within ${Math.round((options.stopTimeoutMs ?? QUIT_STOP_WAIT_MS) / 1000)} s; it keeps running (never forced, so nothing in it is lost).` });
      }
    } catch (error) {
      outcome.failed.push({ name: vm.name, message: error instanceof Error ? error.message : String(error) });
    }
  });
  return outcome;
}
