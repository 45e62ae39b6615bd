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

async function inBatches<T>(items: readonly T[], size: number, fn: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(fn));
}

/**
 * What quitting the app does to running VMs (Preferences → onQuit): keep them running (nothing to
 * do: QEMU outlives the app), save them (each resumes where it was on its next start), or shut them
 * down (ACPI, forced off after the stop timeout). The Electron host calls this before it closes the
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
        await manager.stop(vm.id, options.stopTimeoutMs === undefined ? {} : { timeoutMs: options.stopTimeoutMs });
        outcome.shutDown.push(vm.name);
      }
    } catch (error) {
      outcome.failed.push({ name: vm.name, message: error instanceof Error ? error.message : String(error) });
    }
  });
  return outcome;
}
