import type { BrowserWindowConstructorOptions } from 'electron';
import { consoleUrl } from './harden';
import { APP_ORIGIN, secureWebPreferences } from './security';
import { initialPlacement, trackWindowState, type Rect, type TrackedWindow, type WindowStateStore } from './window-state';

/** The part of a BrowserWindow the app's window management uses. */
export interface AppWindow extends TrackedWindow {
  isDestroyed(): boolean;
  show(): void;
  focus(): void;
  restore(): void;
  maximize(): void;
  hide(): void;
  loadURL(url: string): Promise<void>;
  once(event: 'ready-to-show' | 'closed', listener: () => void): unknown;
}

export interface AppWindowsDeps {
  /** `new BrowserWindow(options)` under Electron. */
  createWindow(options: BrowserWindowConstructorOptions): AppWindow;
  /** Work areas of the connected displays, the primary first (`screen`). */
  displays(): Rect[];
  states: WindowStateStore;
  preloadPath: string;
  /** The app icon (X11 shows it; Wayland takes the .desktop file's). */
  iconPath: string;
  /** False on Wayland: windows cannot read or set their position there, so only sizes are restored. */
  canPosition: boolean;
  log(line: string): void;
}

const MANAGER_KIND = 'manager';
const consoleKind = (vmId: string) => `console:${vmId}`;

/**
 * The app's windows: the manager and one console window per VM (opening a VM's console again
 * focuses the window it already has). Every window gets the same locked-down webPreferences and
 * remembers its size, position and maximized state per kind.
 */
export class AppWindows {
  readonly #deps: AppWindowsDeps;
  #manager: AppWindow | undefined;
  readonly #consoles = new Map<string, AppWindow>();

  constructor(deps: AppWindowsDeps) {
    this.#deps = deps;
  }

  /** Shows the manager window, making it if there is none (first start, or after it was closed). */
  async showManager(): Promise<void> {
    if (this.#manager && !this.#manager.isDestroyed()) {
      this.#bringToFront(this.#manager);
      return;
    }
    const window = this.#open(MANAGER_KIND, { width: 1100, height: 720, minWidth: 720, minHeight: 480, title: 'Virtdesk' });
    this.#manager = window;
    window.once('closed', () => {
      if (this.#manager === window) this.#manager = undefined;
    });
    await window.loadURL(`${APP_ORIGIN}/index.html`);
  }

  /** Opens a VM's console window, or brings the one it has to the front. */
  async openConsole(vmId: string, vmName?: string): Promise<void> {
    const existing = this.#consoles.get(vmId);
    if (existing && !existing.isDestroyed()) {
      this.#bringToFront(existing);
      return;
    }
    const window = this.#open(consoleKind(vmId), { width: 1060, height: 860, minWidth: 400, minHeight: 300, title: vmName ? `${vmName} — Virtdesk console` : 'Virtdesk console' });
    this.#consoles.set(vmId, window);
    window.once('closed', () => {
      if (this.#consoles.get(vmId) === window) this.#consoles.delete(vmId);
    });
    await window.loadURL(consoleUrl(vmId));
  }

  /** Every open window (quitting hides them while VMs are being stopped or saved). */
  all(): AppWindow[] {
    return [this.#manager, ...this.#consoles.values()].filter((window): window is AppWindow => window !== undefined && !window.isDestroyed());
  }

  #bringToFront(window: AppWindow): void {
    if (window.isMinimized()) window.restore();
    window.show();
    window.focus();
  }

  #open(kind: string, options: { width: number; height: number; minWidth: number; minHeight: number; title: string }): AppWindow {
    const sizeOnly = !this.#deps.canPosition;
    const { bounds, maximized } = initialPlacement(this.#deps.states.get(kind), options, this.#deps.displays(), { sizeOnly });
    const window = this.#deps.createWindow({
      ...bounds,
      minWidth: options.minWidth,
      minHeight: options.minHeight,
      title: options.title,
      icon: this.#deps.iconPath,
      show: false,
      webPreferences: secureWebPreferences(this.#deps.preloadPath),
    });
    trackWindowState(window, kind, this.#deps.states, { sizeOnly });
    window.once('ready-to-show', () => {
      if (maximized) window.maximize();
      window.show();
    });
    return window;
  }
}
