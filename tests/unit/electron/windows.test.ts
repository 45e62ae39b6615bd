import type { BrowserWindowConstructorOptions } from 'electron';
import { EventEmitter } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AppWindows, type AppWindow } from '../../../main/electron/windows';
import { WindowStateStore, windowStateFile, type Rect } from '../../../main/electron/window-state';

class FakeWindow extends EventEmitter implements AppWindow {
  readonly calls: string[] = [];
  url: string | undefined;
  destroyed = false;
  minimized = false;
  maximized = false;
  bounds: Rect;
  constructor(readonly options: BrowserWindowConstructorOptions) {
    super();
    this.bounds = { x: options.x ?? 100, y: options.y ?? 100, width: options.width ?? 800, height: options.height ?? 600 };
  }
  isDestroyed() {
    return this.destroyed;
  }
  isMinimized() {
    return this.minimized;
  }
  isMaximized() {
    return this.maximized;
  }
  isFullScreen() {
    return false;
  }
  getNormalBounds() {
    return this.bounds;
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
  restore() {
    this.calls.push('restore');
    this.minimized = false;
  }
  maximize() {
    this.calls.push('maximize');
    this.maximized = true;
  }
  async loadURL(url: string) {
    this.url = url;
  }
  close() {
    this.emit('close');
    this.destroyed = true;
    this.emit('closed');
  }
}

let home: string;
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'vd-windows-'));
});
afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

async function setup(options: { canPosition?: boolean } = {}) {
  const states = await WindowStateStore.load(windowStateFile(home), { delayMs: 10_000 });
  const made: FakeWindow[] = [];
  const windows = new AppWindows({
    createWindow: (options) => {
      const window = new FakeWindow(options);
      made.push(window);
      return window;
    },
    displays: () => [{ x: 0, y: 0, width: 1920, height: 1050 }],
    states,
    preloadPath: '/app/dist/electron/preload.cjs',
    iconPath: '/app/assets/icons/256x256.png',
    canPosition: options.canPosition ?? true,
    log: () => {},
  });
  return { windows, made, states };
}

describe('app windows', () => {
  it('opens the manager with the locked-down webPreferences and shows it once ready', async () => {
    const { windows, made } = await setup();
    await windows.showManager();
    expect(made).toHaveLength(1);
    const [manager] = made;
    expect(manager!.options.webPreferences).toMatchObject({
      preload: '/app/dist/electron/preload.cjs',
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      webviewTag: false,
    });
    expect(manager!.options.show).toBe(false);
    expect(manager!.options.icon).toBe('/app/assets/icons/256x256.png');
    expect(manager!.url).toBe('app://virtdesk/index.html');
    expect(manager!.calls).toEqual([]);
    manager!.emit('ready-to-show');
    expect(manager!.calls).toEqual(['show']);
    // A second start of the app (second-instance) brings it back rather than making another.
    manager!.minimized = true;
    await windows.showManager();
    expect(made).toHaveLength(1);
    expect(manager!.calls).toEqual(['show', 'restore', 'show', 'focus']);
  });

  it('opens one console window per VM with the same webPreferences, and focuses it when asked again', async () => {
    const { windows, made } = await setup();
    await windows.openConsole('vm-1', 'web server');
    await windows.openConsole('vm-2');
    expect(made.map((window) => window.url)).toEqual(['app://virtdesk/index.html#/console/vm-1', 'app://virtdesk/index.html#/console/vm-2']);
    expect(made[0]!.options.title).toBe('web server — Virtdesk console');
    expect(made[0]!.options.icon).toBe('/app/assets/icons/256x256.png');
    expect(made[1]!.options.webPreferences).toEqual(made[0]!.options.webPreferences);
    expect(made[1]!.options.webPreferences).toMatchObject({ contextIsolation: true, sandbox: true, nodeIntegration: false, preload: '/app/dist/electron/preload.cjs' });

    await windows.openConsole('vm-1');
    expect(made).toHaveLength(2);
    expect(made[0]!.calls).toEqual(['show', 'focus']);

    made[0]!.close();
    await windows.openConsole('vm-1');
    expect(made).toHaveLength(3);
    expect(made[2]!.url).toBe('app://virtdesk/index.html#/console/vm-1');
    expect(windows.all()).toEqual([made[1], made[2]]);
  });

  it('remembers size, position and maximized per window kind and restores them', async () => {
    const first = await setup();
    await first.windows.openConsole('vm-1');
    const window = first.made[0]!;
    window.bounds = { x: 300, y: 200, width: 900, height: 700 };
    window.emit('move');
    window.maximized = true;
    window.emit('maximize');
    window.close();
    await first.states.flush();

    const second = await setup();
    await second.windows.openConsole('vm-1');
    await second.windows.showManager();
    const [console1, manager] = second.made;
    expect(console1!.options).toMatchObject({ x: 300, y: 200, width: 900, height: 700 });
    console1!.emit('ready-to-show');
    expect(console1!.calls).toEqual(['maximize', 'show']);
    // The manager has no remembered state: default size, placed by the window manager.
    expect(manager!.options).toMatchObject({ width: 1100, height: 720 });
    expect(manager!.options.x).toBeUndefined();
  });

  it('on Wayland restores only the size and maximized state, and keeps the position an X11 session saved', async () => {
    const x11 = await setup();
    await x11.windows.openConsole('vm-1');
    x11.made[0]!.bounds = { x: 300, y: 200, width: 900, height: 700 };
    x11.made[0]!.emit('move');
    x11.made[0]!.close();
    await x11.states.flush();

    const wayland = await setup({ canPosition: false });
    await wayland.windows.openConsole('vm-1');
    const window = wayland.made[0]!;
    expect(window.options).toMatchObject({ width: 900, height: 700 });
    expect(window.options.x).toBeUndefined();
    expect(window.options.y).toBeUndefined();
    // Wayland reports x = y = 0 (electron.d.ts, getBounds); a resize there keeps the X11 position.
    window.bounds = { x: 0, y: 0, width: 1000, height: 750 };
    window.emit('resize');
    expect(wayland.states.get('console:vm-1')).toEqual({ x: 300, y: 200, width: 1000, height: 750, maximized: false });
  });
});
