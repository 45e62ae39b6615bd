import { app, BrowserWindow, ipcMain, MessageChannelMain, net, protocol, session, shell, utilityProcess, webContents } from 'electron';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createEngine, type Engine } from '../../engine/engine';
import { virtdeskHome } from '../../engine/paths';
import { CONSOLE_CHANNEL, ElectronConsoles } from './console-ports';
import { serveRpcOverIpc, windowIdOf } from './rpc-bridge';
import { utilityWorkerFactory } from './utility-worker';
import { APP_ORIGIN, APP_SCHEME, ELECTRON_CSP, isTrustedUrl, rendererFileFor, secureWebPreferences } from './security';

const log = (line: string) => process.stderr.write(`[virtdesk] ${line}\n`);
const rendererRoot = join(__dirname, '..', 'renderer');
const preloadPath = join(__dirname, 'preload.cjs');
const supervisorEntry = join(__dirname, '..', 'node', 'supervisor.mjs');

protocol.registerSchemesAsPrivileged([{ scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } }]);

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  let engine: Engine | undefined;
  let managerWindow: BrowserWindow | undefined;

  app.on('second-instance', () => {
    if (managerWindow?.isMinimized()) managerWindow.restore();
    managerWindow?.focus();
  });

  app.on('web-contents-created', (_event, contents) => {
    contents.on('will-navigate', (event, url) => {
      if (!isTrustedUrl(url)) event.preventDefault();
    });
    contents.setWindowOpenHandler(({ url }) => {
      if (url.startsWith('https://')) void shell.openExternal(url);
      return { action: 'deny' };
    });
    contents.on('will-attach-webview', (event) => event.preventDefault());
  });

  void app.whenReady().then(async () => {
    session.defaultSession.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
    session.defaultSession.setPermissionCheckHandler(() => false);
    protocol.handle(APP_SCHEME, async (request) => {
      const file = rendererFileFor(request.url, rendererRoot);
      if (!file) return new Response('Not found', { status: 404 });
      const response = await net.fetch(pathToFileURL(file).toString());
      const headers = new Headers(response.headers);
      headers.set('Content-Security-Policy', ELECTRON_CSP);
      headers.set('X-Content-Type-Options', 'nosniff');
      return new Response(response.body, { status: response.status, headers });
    });

    const consoles = new ElectronConsoles({
      makeChannel: () => new MessageChannelMain(),
      deliver: (peer, ticket, port) => {
        const id = windowIdOf(peer);
        const contents = id === undefined ? undefined : webContents.fromId(id);
        if (!contents || contents.isDestroyed()) return false;
        contents.postMessage(CONSOLE_CHANNEL, { ticket }, [port]);
        return true;
      },
    });
    engine = await createEngine({
      home: virtdeskHome(),
      hostKind: 'electron',
      workers: utilityWorkerFactory(utilityProcess),
      supervisorEntry,
      consoles,
      log,
    });
    serveRpcOverIpc(ipcMain, engine, log);

    managerWindow = new BrowserWindow({
      width: 1100,
      height: 720,
      title: 'Virtdesk',
      show: false,
      webPreferences: secureWebPreferences(preloadPath),
    });
    managerWindow.once('ready-to-show', () => managerWindow?.show());
    await managerWindow.loadURL(`${APP_ORIGIN}/index.html`);
  });

  // Closing the windows never stops a VM: QEMU runs detached and outlives the app.
  app.on('window-all-closed', () => app.quit());
  app.on('will-quit', () => {
    void engine?.close();
  });
}
