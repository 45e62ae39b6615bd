import type { Preferences } from '../../engine/api/preferences-api';

export type QuitChoice = Preferences['onQuit'];

/** How long a guest may take to power off after the ACPI button at quit, before it is forced off. */
export const QUIT_SHUTDOWN_TIMEOUT_MS = 30_000;
/**
 * Quitting never takes longer than this, whatever a VM or the disk does: VMs are shut down or saved
 * two at a time (engine/vm/ops/save-restore), so this covers about twenty stubborn guests or several
 * GiB of saved memory. Past it the app goes anyway and the VMs not yet done keep running.
 */
export const QUIT_DEADLINE_MS = 5 * 60_000;

export interface QuitDeps {
  /** The user's `onQuit` preference, read fresh. */
  readChoice(): Promise<QuitChoice>;
  /** Saves ('save') or shuts down ('shut-down': ACPI, forced off after QUIT_SHUTDOWN_TIMEOUT_MS) the running VMs. */
  apply(choice: Exclude<QuitChoice, 'keep-running'>): Promise<void>;
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
      if (choice !== 'keep-running') await deps.apply(choice);
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
