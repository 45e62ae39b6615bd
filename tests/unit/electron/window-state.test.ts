import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fitToDisplays, initialPlacement, WindowStateStore, windowStateFile } from '../../../main/electron/window-state';

let home: string;
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'vd-window-state-'));
});
afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

const laptop = { x: 0, y: 0, width: 1920, height: 1050 };
const rightMonitor = { x: 1920, y: 0, width: 2560, height: 1410 };

describe('window state file', () => {
  it('lives in VIRTDESK_HOME/window-state.json and round-trips per window kind', async () => {
    const file = windowStateFile(home);
    expect(file).toBe(join(home, 'window-state.json'));
    const store = await WindowStateStore.load(file, { delayMs: 10_000 });
    expect(store.get('manager')).toBeUndefined();
    store.set('manager', { x: 10.4, y: 20, width: 1100, height: 720, maximized: false });
    store.set('console:vm-1', { x: 2000, y: 40, width: 1060, height: 860, maximized: true });
    await store.flush();
    const saved = JSON.parse(await readFile(file, 'utf8'));
    expect(saved).toEqual({
      schemaVersion: 1,
      windows: {
        manager: { x: 10, y: 20, width: 1100, height: 720, maximized: false },
        'console:vm-1': { x: 2000, y: 40, width: 1060, height: 860, maximized: true },
      },
    });
    const again = await WindowStateStore.load(file);
    expect(again.get('console:vm-1')).toEqual({ x: 2000, y: 40, width: 1060, height: 860, maximized: true });
  });

  it('writes atomically (no temp files left) and a moment after the last change', async () => {
    const file = windowStateFile(home);
    const store = await WindowStateStore.load(file, { delayMs: 30 });
    store.set('manager', { x: 1, y: 1, width: 800, height: 600, maximized: false });
    store.set('manager', { x: 2, y: 2, width: 800, height: 600, maximized: false });
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(JSON.parse(await readFile(file, 'utf8')).windows.manager.x).toBe(2);
    expect(await readdir(home)).toEqual(['window-state.json']);
  });

  it('keeps kinds it cannot read and ignores a damaged file', async () => {
    const file = windowStateFile(home);
    await writeFile(file, JSON.stringify({ schemaVersion: 1, windows: { manager: { x: 'left' }, future: { pinned: true } } }));
    const store = await WindowStateStore.load(file);
    expect(store.get('manager')).toBeUndefined();
    store.set('console:a', { x: 0, y: 0, width: 500, height: 400, maximized: false });
    await store.flush();
    expect(JSON.parse(await readFile(file, 'utf8')).windows.future).toEqual({ pinned: true });

    await writeFile(file, '{ not json');
    const lines: string[] = [];
    const damaged = await WindowStateStore.load(file, { log: (line) => lines.push(line) });
    expect(damaged.get('console:a')).toBeUndefined();
    expect(lines[0]).toMatch(/^ignoring .*window-state\.json/);
  });

  it('refuses nonsense sizes', async () => {
    const store = await WindowStateStore.load(windowStateFile(home));
    store.set('manager', { x: 0, y: 0, width: 0, height: 600, maximized: false });
    store.set('manager', { x: Number.NaN, y: 0, width: 800, height: 600, maximized: false });
    expect(store.get('manager')).toBeUndefined();
  });
});

describe('placing windows on the displays there are', () => {
  it('keeps a window that is fully visible where it was', () => {
    expect(fitToDisplays({ x: 100, y: 80, width: 1100, height: 720 }, [laptop, rightMonitor])).toEqual({ x: 100, y: 80, width: 1100, height: 720 });
    expect(fitToDisplays({ x: 2500, y: 100, width: 1100, height: 720 }, [laptop, rightMonitor])).toEqual({ x: 2500, y: 100, width: 1100, height: 720 });
  });

  it('centres a window on the primary display when its monitor is gone', () => {
    expect(fitToDisplays({ x: 2500, y: 100, width: 1100, height: 720 }, [laptop])).toEqual({ x: 410, y: 165, width: 1100, height: 720 });
  });

  it('pulls a partly off-screen window back inside the display it mostly covers', () => {
    expect(fitToDisplays({ x: -300, y: 900, width: 1100, height: 720 }, [laptop, rightMonitor])).toEqual({ x: 0, y: 330, width: 1100, height: 720 });
    // Straddling both: it goes to the one it covers more of.
    expect(fitToDisplays({ x: 1700, y: 0, width: 1000, height: 600 }, [laptop, rightMonitor])).toEqual({ x: 1920, y: 0, width: 1000, height: 600 });
  });

  it('shrinks a window larger than its display', () => {
    expect(fitToDisplays({ x: 0, y: 0, width: 2560, height: 1400 }, [laptop])).toEqual({ x: 0, y: 0, width: 1920, height: 1050 });
  });

  it('opens at the default size (capped to the screen) without a remembered state, and remembers maximized', () => {
    expect(initialPlacement(undefined, { width: 1100, height: 720 }, [{ x: 0, y: 0, width: 1024, height: 700 }])).toEqual({ bounds: { width: 1024, height: 700 }, maximized: false });
    expect(initialPlacement({ x: 5000, y: 5000, width: 800, height: 600, maximized: true }, { width: 1100, height: 720 }, [laptop])).toEqual({
      bounds: { x: 560, y: 225, width: 800, height: 600 },
      maximized: true,
    });
  });
});

describe('size-only placement (Wayland)', () => {
  it('restores the size fitted to the largest display and no position', () => {
    const saved = { x: 2000, y: 100, width: 3000, height: 900, maximized: true };
    const displays = [
      { x: 0, y: 0, width: 1366, height: 740 },
      { x: 1366, y: 0, width: 2560, height: 1400 },
    ];
    expect(initialPlacement(saved, { width: 1100, height: 720 }, displays, { sizeOnly: true })).toEqual({ bounds: { width: 2560, height: 900 }, maximized: true });
    expect(initialPlacement(undefined, { width: 1100, height: 720 }, displays, { sizeOnly: true })).toEqual({ bounds: { width: 1100, height: 720 }, maximized: false });
  });
});
