import type { BrowserWindowConstructorOptions } from 'electron';
import { EventEmitter } from 'node:events';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { ElectronModules } from '../../../main/electron/app';
import { fakeUtilityProcess } from './fakes';

/** A WebContents as far as the app touches it. */
export class FakeWebContents extends EventEmitter {
  static nextId = 1;
  readonly id = FakeWebContents.nextId++;
  url = '';
  destroyed = false;
  readonly sent: unknown[] = [];
  readonly posted: { channel: string; message: unknown; ports: unknown[] }[] = [];
  openHandler: ((details: { url: string }) => { action: string }) | undefined;
  getURL() {
    return this.url;
  }
  isDestroyed() {
    return this.destroyed;
  }
  send(_channel: string, message: unknown) {
    // The RPC sends JSON text (engine/api/wire.ts); keep the parsed message for the tests to read.
    this.sent.push(typeof message === 'string' ? JSON.parse(message) : message);
  }
  postMessage(channel: string, message: unknown, ports: unknown[] = []) {
    this.posted.push({ channel, message, ports });
  }
  setWindowOpenHandler(handler: (details: { url: string }) => { action: string }) {
    this.openHandler = handler;
  }
}

export class FakeBrowserWindow extends EventEmitter {
  static all: FakeBrowserWindow[] = [];
  readonly webContents = new FakeWebContents();
  readonly calls: string[] = [];
  destroyed = false;
  constructor(readonly options: BrowserWindowConstructorOptions) {
    super();
    FakeBrowserWindow.all.push(this);
  }
  isDestroyed() {
    return this.destroyed;
  }
  isMinimized() {
    return false;
  }
  isMaximized() {
    return false;
  }
  isFullScreen() {
    return false;
  }
  getNormalBounds() {
    return { x: 10, y: 10, width: this.options.width ?? 800, height: this.options.height ?? 600 };
  }
  show() {
    this.calls.push('show');
  }
  hide() {
    this.calls.push('hide');
  }
  focus() {
    this.calls.push('focus');
  }
  restore() {}
  maximize() {}
  async loadURL(url: string) {
    this.webContents.url = url;
  }
}

export interface FakeElectron {
  module: ElectronModules;
  app: EventEmitter & { lock: boolean; quitCalls: number; exitCode: number | undefined; quitted: boolean; ready(): void; quit(): void };
  protocol: { privileged: unknown[]; handlers: Map<string, (request: Request) => Promise<Response>> };
  permissions: { request?: (contents: unknown, permission: string, callback: (granted: boolean) => void, details: { requestingUrl?: string }) => void };
  ipcMain: EventEmitter;
  menus: unknown[];
  external: string[];
  errorBoxes: string[];
  contents: Map<number, FakeWebContents>;
  utility: ReturnType<typeof fakeUtilityProcess>;
}

/** The parts of the `electron` module the app uses, with Electron's documented behaviour where it matters. */
export function fakeElectron(options: { lock?: boolean; loadFails?: string; switches?: Record<string, string> } = {}): FakeElectron {
  FakeBrowserWindow.all = [];
  let resolveReady!: () => void;
  const whenReady = new Promise<void>((resolve) => (resolveReady = resolve));
  const app = Object.assign(new EventEmitter(), {
    lock: options.lock ?? true,
    quitCalls: 0,
    exitCode: undefined as number | undefined,
    quitted: false,
    ready: () => resolveReady(),
    requestSingleInstanceLock() {
      return app.lock;
    },
    whenReady: () => whenReady,
    commandLine: { getSwitchValue: (name: string) => options.switches?.[name] ?? '' },
    quit() {
      app.quitCalls += 1;
      let prevented = false;
      app.emit('before-quit', { preventDefault: () => (prevented = true) });
      if (!prevented) app.quitted = true;
    },
    exit(code: number) {
      app.exitCode = code;
    },
  });
  const protocol = {
    privileged: [] as unknown[],
    handlers: new Map<string, (request: Request) => Promise<Response>>(),
    registerSchemesAsPrivileged(schemes: unknown[]) {
      protocol.privileged.push(...schemes);
    },
    handle(scheme: string, handler: (request: Request) => Promise<Response>) {
      protocol.handlers.set(scheme, handler);
    },
  };
  const permissions: FakeElectron['permissions'] = {};
  const ipcMain = new EventEmitter();
  const menus: unknown[] = [];
  const external: string[] = [];
  const errorBoxes: string[] = [];
  const contents = new Map<number, FakeWebContents>();
  const utility = fakeUtilityProcess();
  const display = { id: 1, workArea: { x: 0, y: 0, width: 1920, height: 1050 } };

  class BrowserWindow extends FakeBrowserWindow {
    constructor(windowOptions: BrowserWindowConstructorOptions) {
      super(windowOptions);
      contents.set(this.webContents.id, this.webContents);
      app.emit('web-contents-created', {}, this.webContents);
    }
    override async loadURL(url: string) {
      // Electron rejects loadURL when the page fails to load (did-fail-load), e.g. ERR_FILE_NOT_FOUND.
      if (options.loadFails) throw new Error(options.loadFails);
      await super.loadURL(url);
    }
  }

  const module = {
    app,
    protocol,
    BrowserWindow,
    ipcMain,
    Menu: { setApplicationMenu: (menu: unknown) => menus.push(menu) },
    MessageChannelMain: class {
      port1 = Object.assign(new EventEmitter(), { postMessage() {}, start() {}, close() {} });
      port2 = Object.assign(new EventEmitter(), { postMessage() {}, start() {}, close() {} });
    },
    net: {
      fetch: async (url: string) => new Response(await readFile(fileURLToPath(url)), { headers: { 'Content-Type': 'text/html' } }),
    },
    screen: { getPrimaryDisplay: () => display, getAllDisplays: () => [display] },
    session: {
      defaultSession: {
        setPermissionRequestHandler: (handler: FakeElectron['permissions']['request']) => (permissions.request = handler),
        setPermissionCheckHandler: () => {},
        setDevicePermissionHandler: () => {},
      },
    },
    shell: { openExternal: async (url: string) => void external.push(url) },
    utilityProcess: utility,
    webContents: { fromId: (id: number) => contents.get(id) },
    dialog: { showErrorBox: (title: string, text: string) => errorBoxes.push(`${title}: ${text}`) },
  } as unknown as ElectronModules;

  return { module, app, protocol, permissions, ipcMain, menus, external, errorBoxes, contents, utility };
}
