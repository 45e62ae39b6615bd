import type { Preferences } from '../../engine/api/preferences-api';
import type { VmState } from '../../engine/vm/states';

export type QuitChoice = Preferences['onQuit'];

/** How long a guest may take to power off after the ACPI button at quit, before it is forced off. */
export const QUIT_SHUTDOWN_TIMEOUT_MS = 30_000;
/** Quitting never takes longer than this, whatever a VM or the disk does. */
export const QUIT_DEADLINE_MS = QUIT_SHUTDOWN_TIMEOUT_MS + 20_000;

/** The part of the VmManager that shutting VMs down at quit uses. */
export interface QuitVms {
  list(): Promise<{ id: string; name: string; state: VmState }[]>;
  stop(ref: string, options: { force?: boolean; timeoutMs?: number }): Promise<{ forced: boolean }>;
}

/** States in which a VM's QEMU runs (and so would outlive the app). */
const LIVE_STATES: readonly VmState[] = ['starting', 'running', 'paused', 'shutting-down'];

/**
 * Stops every VM whose QEMU runs, all at once: the ACPI power button, then forced off after
 * `timeoutMs` (a VM still starting is forced off at once: it has no OS to hear the button).
 */
export async function shutDownRunningVms(vms: QuitVms, options: { timeoutMs?: number; log(line: string): void }): Promise<void> {
  const live = (await vms.list()).filter((vm) => LIVE_STATES.includes(vm.state));
  const results = await Promise.allSettled(
    live.map((vm) => vms.stop(vm.id, vm.state === 'starting' ? { force: true } : { timeoutMs: options.timeoutMs ?? QUIT_SHUTDOWN_TIMEOUT_MS })),
  );
  results.forEach((result, index) => {
    const vm = live[index]!;
    if (result.status === 'rejected') options.log(`quit: could not stop VM "${vm.name}": ${(result.reason as Error)?.message ?? String(result.reason)}`);
    else options.log(`quit: VM "${vm.name}" ${result.value.forced ? 'was forced off' : 'shut down'}`);
  });
}

export interface QuitDeps {
  /** The user's `onQuit` preference, read fresh. */
  readChoice(): Promise<QuitChoice>;
  /** 'shut-down': stop the running VMs (shutDownRunningVms over the engine's VmManager). */
  shutDown(): Promise<void>;
  /** 'save': save the running VMs' state; undefined while this build cannot (they keep running then). */
  save?: () => Promise<void>;
  /** Windows go away at once: quitting shows nothing that blocks. */
  hideWindows(): void;
  flushWindowState(): Promise<void>;
  /** Detaches the supervisors; QEMU of every VM still running keeps running. */
  closeEngine(): Promise<void>;
  log(line: string): void;
  deadlineMs?: number;
}

export interface QuittableApp {
  on(event: 'before-quit', listener: (event: { preventDefault(): void }) => void): unknown;
  quit(): void;
}

/**
 * Applies the user's quit choice before the app goes: `before-quit` is held off (preventDefault)
 * until the VMs are stopped or saved as asked, window positions are saved and the engine has
 * detached, then quit goes ahead. By default ('keep-running') VMs keep running: QEMU is detached.
 */
export function handleQuit(app: QuittableApp, deps: QuitDeps): { readonly phase: 'running' | 'preparing' | 'done' } {
  const state = { phase: 'running' as 'running' | 'preparing' | 'done' };

  const prepare = async () => {
    deps.hideWindows();
    let choice: QuitChoice = 'keep-running';
    try {
      choice = await deps.readChoice();
    } catch (error) {
      deps.log(`quit: could not read the quit preference (${(error as Error).message}); VMs keep running`);
    }
    try {
      if (choice === 'shut-down') await deps.shutDown();
      else if (choice === 'save') {
        if (deps.save) await deps.save();
        else deps.log('quit: saving VMs at quit is not available in this build yet; running VMs keep running');
      }
    } catch (error) {
      deps.log(`quit: applying "${choice}" failed: ${(error as Error).message}`);
    }
    await deps.flushWindowState().catch(() => undefined);
    await deps.closeEngine().catch((error: unknown) => deps.log(`quit: closing the engine failed: ${(error as Error).message}`));
  };

  app.on('before-quit', (event) => {
    if (state.phase === 'done') return;
    event.preventDefault();
    if (state.phase === 'preparing') return;
    state.phase = 'preparing';
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        deps.log('quit: stopping or saving VMs took too long; quitting anyway');
        resolve();
      }, deps.deadlineMs ?? QUIT_DEADLINE_MS);
    });
    void Promise.race([prepare(), deadline]).finally(() => {
      clearTimeout(timer);
      state.phase = 'done';
      app.quit();
    });
  });
  return state;
}
