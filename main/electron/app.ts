import type * as ElectronModule from 'electron';
import { stat } from 'node:fs/promises';
import type { ImplementationOf } from '../../engine/api/contract';
import type { VirtdeskContract } from '../../engine/api/virtdesk-api';
import type { Engine, EngineOptions } from '../../engine/engine';
import { resolveHomeSpelling } from '../../engine/paths';
import { applyQuitPreference } from '../../engine/vm/ops/save-restore';
import { appProtocolHandler } from './app-protocol';
import { ElectronConsoles, deliverToAskingWindow } from './console-ports';
import { applyPermissionPolicy, hardenWebContents, type HardenableContents, type PermissionSession } from './harden';
import { appLocations } from './locations';
import { handleQuit, QUIT_SHUTDOWN_TIMEOUT_MS } from './quit';
import { serveRpcOverIpc, type RpcIpcMain } from './rpc-bridge';
import { APP_SCHEME } from './security';
import { utilityWorkerFactory, type UtilityProcessModule } from './utility-worker';
import { WindowStateStore, windowStateFile } from './window-state';
import { runsOnWayland } from './wayland';
import { AppWindows, type AppWindow } from './windows';

/** The parts of the `electron` module the app uses (a fake in tests). */
export type ElectronModules = Pick<
  typeof ElectronModule,
  'app' | 'BrowserWindow' | 'dialog' | 'ipcMain' | 'Menu' | 'MessageChannelMain' | 'net' | 'protocol' | 'screen' | 'session' | 'shell' | 'utilityProcess' | 'webContents'
>;

export interface StartOptions {
  /** The folder of the main bundle (`__dirname` of dist/electron/main.cjs). */
  electronDir: string;
  env: NodeJS.ProcessEnv;
  createEngine(options: EngineOptions): Promise<Engine>;
  log?: (line: string) => void;
}

/** Adds the Electron host's console windows to the engine's host service. */
export function withConsoleWindows(
  implementation: ImplementationOf<VirtdeskContract>,
  openConsoleWindow: (vmId: string) => Promise<void>,
): ImplementationOf<VirtdeskContract> {
  return {
    ...implementation,
    host: {
      ...implementation.host,
      openConsoleWindow: async ({ id }) => {
        await openConsoleWindow(id);
        return { opened: true };
      },
    },
  };
}

async function isFile(path: string): Promise<boolean> {
  return (await stat(path)).isFile();
}

/**
 * The Electron app: single instance, the app:// scheme with its CSP, every WebContents locked
 * down, permissions refused, the engine with a utilityProcess per running VM, the RPC over IPC,
 * the manager and console windows, and the quit choice applied before quitting.
 */
export function startElectronApp(electron: ElectronModules, options: StartOptions): { ready: Promise<void> } {
  const { app, protocol } = electron;
  const log = options.log ?? ((line: string) => process.stderr.write(`[virtdesk] ${line}\n`));
  const locations = appLocations(options.electronDir);
  const home = resolveHomeSpelling(options.env);

  // Before 'ready': app:// is a standard, secure origin (module scripts, fetch, storage work there).
  protocol.registerSchemesAsPrivileged([{ scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } }]);

  if (!app.requestSingleInstanceLock()) {
    app.quit();
    return { ready: Promise.resolve() };
  }

  const failToStart = (title: string, text: string) => {
    electron.dialog.showErrorBox(title, text);
    app.exit(1);
  };

  let windows: AppWindows | undefined;
  let engine: Engine | undefined;
  let quitting = false;

  const openConsole = async (vmId: string) => {
    if (!engine || !windows || quitting) return;
    const { definition } = await engine.vms.get(vmId);
    await windows.openConsole(definition.id, definition.name);
  };

  app.on('second-instance', () => {
    if (!quitting) void windows?.showManager();
  });

  app.on('web-contents-created', (_event, contents) => {
    hardenWebContents(contents as unknown as HardenableContents, {
      openExternal: (url) => void electron.shell.openExternal(url),
      openConsoleWindow: (vmId) => void openConsole(vmId).catch((error: unknown) => log(`cannot open the console of ${vmId}: ${(error as Error).message}`)),
      log,
    });
  });

  // Closing the last window quits; what happens to running VMs is the user's quit choice (quit.ts).
  app.on('window-all-closed', () => app.quit());

  const ready = app.whenReady().then(async () => {
    // No menu: its accelerators (reload, Alt for the menu bar) would fight the guest's keyboard.
    electron.Menu.setApplicationMenu(null);
    applyPermissionPolicy(electron.session.defaultSession as unknown as PermissionSession, log);
    protocol.handle(APP_SCHEME, appProtocolHandler({ rendererRoot: locations.rendererRoot, fetchFile: (url) => electron.net.fetch(url), isFile }));

    const states = await WindowStateStore.load(windowStateFile(home), { log });
    windows = new AppWindows({
      createWindow: (windowOptions) => new electron.BrowserWindow(windowOptions) as unknown as AppWindow,
      displays: () => {
        const primary = electron.screen.getPrimaryDisplay();
        return [primary, ...electron.screen.getAllDisplays().filter((display) => display.id !== primary.id)].map((display) => display.workArea);
      },
      states,
      preloadPath: locations.preloadPath,
      iconPath: locations.iconPath,
      canPosition: !runsOnWayland(options.env, app.commandLine.getSwitchValue('ozone-platform')),
      log,
    });

    try {
      engine = await options.createEngine({
        home,
        env: options.env,
        hostKind: 'electron',
        workers: utilityWorkerFactory(electron.utilityProcess as unknown as UtilityProcessModule, { log }),
        supervisorEntry: locations.supervisorEntry,
        consoles: new ElectronConsoles({
          makeChannel: () => new electron.MessageChannelMain(),
          deliver: deliverToAskingWindow((id) => electron.webContents.fromId(id)),
        }),
        log,
      });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      log(`cannot start the engine: ${message}`);
      failToStart('Virtdesk cannot start', `The VM engine did not start: ${message}\n\nVirtdesk keeps its data in ${home}.`);
      return;
    }
    const running = engine;
    serveRpcOverIpc(electron.ipcMain as unknown as RpcIpcMain, { implementation: withConsoleWindows(running.implementation, openConsole), bus: running.bus }, log);

    handleQuit(app, {
      readChoice: async () => {
        const preferences = await running.implementation.preferences.get({}, { signal: new AbortController().signal, peer: { connectionId: 'electron-main' } });
        return preferences.onQuit ?? 'keep-running';
      },
      apply: async (choice) => {
        const outcome = await applyQuitPreference(running.vms, choice, { stopTimeoutMs: QUIT_SHUTDOWN_TIMEOUT_MS });
        for (const name of outcome.saved) log(`quit: saved VM "${name}"`);
        for (const name of outcome.shutDown) log(`quit: shut down VM "${name}"`);
        for (const failure of outcome.failed) log(`quit: could not ${choice === 'save' ? 'save' : 'shut down'} VM "${failure.name}" (it keeps running): ${failure.message}`);
      },
      hideWindows: () => {
        quitting = true;
        for (const window of windows?.all() ?? []) window.hide();
      },
      flushWindowState: () => states.flush(),
      closeEngine: () => running.close(),
      log,
    });

    try {
      await windows.showManager();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      log(`cannot show the manager window: ${message}`);
      failToStart(
        'Virtdesk cannot show its window',
        `Loading the app's page (${locations.rendererRoot}) failed: ${message}\n\nThe app's files may be missing or damaged. Reinstall Virtdesk; in a source checkout, run \`npm run build\` first. Running VMs are not affected.`,
      );
    }
  });
  // Never a rejected promise: Electron would show its "A JavaScript error occurred in the main
  // process" box with a stack. Anything unforeseen gets a box that says what to do.
  return {
    ready: ready.catch((error: unknown) => {
      const message = error instanceof Error ? error.message : String(error);
      log(`start-up failed: ${message}`);
      failToStart('Virtdesk cannot start', `Starting the app failed: ${message}\n\nVirtdesk keeps its data in ${home}. Start it from a terminal to see its log, and report this if it happens again.`);
    }),
  };
}
