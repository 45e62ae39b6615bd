import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import * as z from 'zod';
import { writeFileAtomic } from '../../engine/store';

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** What is remembered of one window: its normal (not maximized) bounds and whether it was maximized. */
export interface WindowState extends Rect {
  maximized: boolean;
}

const int = z.number().int().min(-100_000).max(100_000);
const windowStateSchema = z.object({ x: int, y: int, width: int.min(1), height: int.min(1), maximized: z.boolean() });
const fileSchema = z.object({
  schemaVersion: z.literal(1),
  windows: z.record(z.string(), z.unknown()),
});

export const WINDOW_STATE_FILE = 'window-state.json';

export function windowStateFile(home: string): string {
  return join(home, WINDOW_STATE_FILE);
}

/**
 * `<VIRTDESK_HOME>/window-state.json`: size, position and maximized state per window kind
 * (`manager`, `console:<vm id>`). Read once at start, written atomically a moment after the last
 * change and at quit. A damaged file is ignored (windows open at their defaults), never fatal.
 */
export class WindowStateStore {
  readonly #file: string;
  readonly #windows: Record<string, unknown>;
  readonly #delayMs: number;
  readonly #log: (line: string) => void;
  #timer: NodeJS.Timeout | undefined;
  #dirty = false;
  #writing: Promise<void> = Promise.resolve();

  private constructor(file: string, windows: Record<string, unknown>, delayMs: number, log: (line: string) => void) {
    this.#file = file;
    this.#windows = windows;
    this.#delayMs = delayMs;
    this.#log = log;
  }

  static async load(file: string, options: { delayMs?: number; log?: (line: string) => void } = {}): Promise<WindowStateStore> {
    const log = options.log ?? (() => {});
    let windows: Record<string, unknown> = {};
    try {
      const parsed = fileSchema.safeParse(JSON.parse(await readFile(file, 'utf8')));
      if (parsed.success) windows = { ...parsed.data.windows };
      else log(`ignoring ${file}: not a window-state file this version understands`);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') log(`ignoring ${file}: ${(error as Error).message}`);
    }
    return new WindowStateStore(file, windows, options.delayMs ?? 500, log);
  }

  /** The remembered state of a window kind; undefined when there is none or it is malformed. */
  get(kind: string): WindowState | undefined {
    const parsed = windowStateSchema.safeParse(this.#windows[kind]);
    return parsed.success ? parsed.data : undefined;
  }

  set(kind: string, state: WindowState): void {
    const rounded = { x: Math.round(state.x), y: Math.round(state.y), width: Math.round(state.width), height: Math.round(state.height), maximized: state.maximized };
    if (!windowStateSchema.safeParse(rounded).success) return;
    this.#windows[kind] = rounded;
    this.#dirty = true;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.flush(), this.#delayMs);
    this.#timer.unref();
  }

  /** Writes pending changes now; resolves once they are on disk. */
  flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (!this.#dirty) return this.#writing;
    this.#dirty = false;
    const text = `${JSON.stringify({ schemaVersion: 1, windows: this.#windows }, null, 2)}\n`;
    this.#writing = this.#writing.then(async () => {
      try {
        await mkdir(dirname(this.#file), { recursive: true });
        await writeFileAtomic(this.#file, text);
      } catch (error) {
        this.#log(`could not save window positions to ${this.#file}: ${(error as Error).message}`);
      }
    });
    return this.#writing;
  }
}

function overlap(a: Rect, b: Rect): number {
  const width = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const height = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  return width > 0 && height > 0 ? width * height : 0;
}

const clamp = (value: number, min: number, max: number) => Math.max(min, Math.min(max, value));

/**
 * Puts remembered bounds back on the screens there are now: on the display the window overlapped
 * most (the first display when it overlaps none, e.g. a monitor was unplugged), shrunk to fit its
 * work area and moved fully inside it. `displays` are work areas, the primary first.
 */
export function fitToDisplays(bounds: Rect, displays: readonly Rect[]): Rect {
  const first = displays[0];
  if (!first) return bounds;
  let target = first;
  let best = 0;
  for (const display of displays) {
    const area = overlap(bounds, display);
    if (area > best) {
      best = area;
      target = display;
    }
  }
  const width = Math.min(bounds.width, target.width);
  const height = Math.min(bounds.height, target.height);
  if (best === 0) {
    // Nowhere visible: centre it on the primary display.
    return { x: target.x + Math.round((target.width - width) / 2), y: target.y + Math.round((target.height - height) / 2), width, height };
  }
  return {
    x: clamp(bounds.x, target.x, target.x + target.width - width),
    y: clamp(bounds.y, target.y, target.y + target.height - height),
    width,
    height,
  };
}

/**
 * Where and how a window of a kind opens: remembered state fitted to the displays, else the default
 * size. With `sizeOnly` (Wayland, where windows cannot place themselves) only the size is restored,
 * fitted to the largest display, and the compositor places the window.
 */
export function initialPlacement(
  saved: WindowState | undefined,
  defaults: { width: number; height: number },
  displays: readonly Rect[],
  options: { sizeOnly?: boolean } = {},
): { bounds: Partial<Rect> & { width: number; height: number }; maximized: boolean } {
  if (saved && options.sizeOnly) {
    const largest = displays.reduce<Rect | undefined>((best, display) => (!best || display.width * display.height > best.width * best.height ? display : best), undefined);
    const width = largest ? Math.min(saved.width, largest.width) : saved.width;
    const height = largest ? Math.min(saved.height, largest.height) : saved.height;
    return { bounds: { width, height }, maximized: saved.maximized };
  }
  if (!saved) {
    const first = displays[0];
    const width = first ? Math.min(defaults.width, first.width) : defaults.width;
    const height = first ? Math.min(defaults.height, first.height) : defaults.height;
    // No x/y: the window manager centres it.
    return { bounds: { width, height }, maximized: false };
  }
  return { bounds: fitToDisplays(saved, displays), maximized: saved.maximized };
}

/** The part of a BrowserWindow whose state is remembered. */
export interface TrackedWindow {
  getNormalBounds(): Rect;
  isMaximized(): boolean;
  isMinimized(): boolean;
  isFullScreen(): boolean;
  on(event: 'resize' | 'move' | 'maximize' | 'unmaximize' | 'close', listener: () => void): unknown;
}

/**
 * Remembers a window's state under `kind` whenever it moves, resizes or (un)maximizes, and when it
 * closes. With `sizeOnly` (Wayland: the position reads as 0,0) the position remembered before, from
 * an X11 session, is kept.
 */
export function trackWindowState(window: TrackedWindow, kind: string, store: WindowStateStore, options: { sizeOnly?: boolean } = {}): void {
  const remember = () => {
    // Normal bounds while minimized or fullscreen are still the ones to restore; only the flags lie.
    if (window.isMinimized() || window.isFullScreen()) return;
    const bounds = window.getNormalBounds();
    const previous = store.get(kind);
    const position = options.sizeOnly ? { x: previous?.x ?? 0, y: previous?.y ?? 0 } : { x: bounds.x, y: bounds.y };
    store.set(kind, { ...position, width: bounds.width, height: bounds.height, maximized: window.isMaximized() });
  };
  for (const event of ['resize', 'move', 'maximize', 'unmaximize', 'close'] as const) window.on(event, remember);
}
