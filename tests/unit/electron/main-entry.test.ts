import { describe, expect, it, vi } from 'vitest';

// The real `electron` package throws outside Electron (its binary is not here); the entry must hand
// the module it gets to startElectronApp, with the engine factory and its own folder.
vi.mock('electron', () => ({ app: { marker: 'mocked electron' } }));
const startElectronApp = vi.fn();
vi.mock('../../../main/electron/app', () => ({ startElectronApp }));

describe('main/electron/main.ts', () => {
  it('starts the app with the electron module, the engine factory and the bundle folder', async () => {
    await import('../../../main/electron/main');
    const { createEngine } = await import('../../../engine/engine');
    expect(startElectronApp).toHaveBeenCalledTimes(1);
    const [electron, options] = startElectronApp.mock.calls[0]!;
    expect(electron.app).toEqual({ marker: 'mocked electron' });
    expect(options).toMatchObject({ env: process.env, createEngine });
    expect(options.electronDir).toMatch(/main\/electron$/);
  });
});
