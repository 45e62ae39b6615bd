import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { handleQuit, type QuitChoice, type QuitDeps } from '../../../main/electron/quit';
import { waitFor } from '../../support/vm-helpers';

class FakeApp extends EventEmitter {
  quitCalls = 0;
  exited = false;
  quit() {
    this.quitCalls += 1;
    // Electron emits before-quit on every quit(); if nobody prevents it, the app goes.
    let prevented = false;
    this.emit('before-quit', { preventDefault: () => (prevented = true) });
    if (!prevented) this.exited = true;
  }
}

function setup(choice: QuitChoice | Error, overrides: Partial<QuitDeps> = {}) {
  const app = new FakeApp();
  const steps: string[] = [];
  const lines: string[] = [];
  const state = handleQuit(app, {
    readChoice: async () => {
      if (choice instanceof Error) throw choice;
      return choice;
    },
    apply: async (what) => {
      steps.push(what);
    },
    hideWindows: () => steps.push('hide'),
    flushWindowState: async () => {
      steps.push('window-state');
    },
    closeEngine: async () => {
      steps.push('close-engine');
    },
    log: (line) => lines.push(line),
    ...overrides,
  });
  return { app, steps, lines, state };
}

describe('quitting', () => {
  it('keeps VMs running by default: windows hidden, state saved, supervisors detached, then quit', async () => {
    const { app, steps, state } = setup('keep-running');
    app.quit();
    expect(app.exited).toBe(false);
    await waitFor('the quit to finish', () => app.exited, 5000, 5);
    expect(steps).toEqual(['hide', 'window-state', 'close-engine']);
    expect(state.phase).toBe('done');
    expect(app.quitCalls).toBe(2);
  });

  it("stops running VMs first when the preference is 'shut-down'", async () => {
    const { app, steps } = setup('shut-down');
    app.quit();
    await waitFor('the quit to finish', () => app.exited, 5000, 5);
    expect(steps).toEqual(['hide', 'shut-down', 'window-state', 'close-engine']);
  });

  it("saves VMs first when the preference is 'save'", async () => {
    const { app, steps } = setup('save');
    app.quit();
    await waitFor('the quit to finish', () => app.exited, 5000, 5);
    expect(steps).toEqual(['hide', 'save', 'window-state', 'close-engine']);
  });

  it('holds every further quit while preparing, and quits once', async () => {
    let release!: () => void;
    const { app, steps } = setup('shut-down', { apply: () => new Promise<void>((resolve) => (release = resolve)) });
    app.quit();
    app.quit();
    app.quit();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(app.exited).toBe(false);
    release();
    await waitFor('the quit to finish', () => app.exited, 5000, 5);
    expect(steps.filter((step) => step === 'close-engine')).toHaveLength(1);
  });

  it('quits anyway when the preference cannot be read, a step fails, or it all takes too long', async () => {
    const unreadable = setup(new Error('preferences.json is not valid JSON'));
    unreadable.app.quit();
    await waitFor('the quit to finish', () => unreadable.app.exited, 5000, 5);
    expect(unreadable.steps).toEqual(['hide', 'window-state', 'close-engine']);
    expect(unreadable.lines[0]).toMatch(/could not read the quit preference .*VMs keep running/);

    const failing = setup('shut-down', { apply: () => Promise.reject(new Error('QMP went away')) });
    failing.app.quit();
    await waitFor('the quit to finish', () => failing.app.exited, 5000, 5);
    expect(failing.lines.join('\n')).toMatch(/applying "shut-down" failed: QMP went away/);

    const stuck = setup('shut-down', { apply: () => new Promise<void>(() => {}), deadlineMs: 50 });
    stuck.app.quit();
    await waitFor('the quit to finish', () => stuck.app.exited, 5000, 5);
    expect(stuck.lines.join('\n')).toMatch(/took too long; quitting anyway/);
  });
});
