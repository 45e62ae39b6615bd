import { app, BrowserWindow, ipcMain, net, protocol, session, shell } from 'electron';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createEngine, type Engine } from '../../engine/engine';
import { virtdeskHome } from '../../engine/paths';
import { serveRpcOverIpc } from './rpc-bridge';
import { APP_ORIGIN, APP_SCHEME, ELECTRON_CSP, isTrustedUrl, rendererFileFor, secureWebPreferences } from './security';

const log = (line: string) => process.stderr.write(`[virtdesk] ${line}\n`);
const rendererRoot = join(__dirname, '..', 'renderer');
const preloadPath = join(__dirname, 'preload.cjs');

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

    engine = await createEngine({ home: virtdeskHome(), hostKind: 'electron' });
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
