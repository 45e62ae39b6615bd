import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { handleQuit, shutDownRunningVms, type QuitChoice, type QuitDeps, type QuitVms } from '../../../main/electron/quit';
import type { VmState } from '../../../engine/vm/states';
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

function fakeVms(vms: { id: string; name: string; state: VmState }[], behaviour: (id: string) => Promise<{ forced: boolean }> = async () => ({ forced: false })) {
  const stops: { id: string; options: { force?: boolean; timeoutMs?: number } }[] = [];
  const api: QuitVms = {
    list: async () => vms,
    stop: async (id, options) => {
      stops.push({ id, options });
      return behaviour(id);
    },
  };
  return { api, stops };
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
    shutDown: async () => {
      steps.push('shut-down');
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

  it("saves VMs when the preference is 'save' and this build can, and says so when it cannot", async () => {
    const saving = setup('save', { save: async () => void saving.steps.push('save') });
    saving.app.quit();
    await waitFor('the quit to finish', () => saving.app.exited, 5000, 5);
    expect(saving.steps).toEqual(['hide', 'save', 'window-state', 'close-engine']);

    const unable = setup('save');
    unable.app.quit();
    await waitFor('the quit to finish', () => unable.app.exited, 5000, 5);
    expect(unable.steps).toEqual(['hide', 'window-state', 'close-engine']);
    expect(unable.lines.join('\n')).toMatch(/saving VMs at quit is not available/);
  });

  it('holds every further quit while preparing, and quits once', async () => {
    let release!: () => void;
    const { app, steps } = setup('shut-down', { shutDown: () => new Promise<void>((resolve) => (release = resolve)) });
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

    const failing = setup('shut-down', { shutDown: () => Promise.reject(new Error('QMP went away')) });
    failing.app.quit();
    await waitFor('the quit to finish', () => failing.app.exited, 5000, 5);
    expect(failing.lines.join('\n')).toMatch(/applying "shut-down" failed: QMP went away/);

    const stuck = setup('shut-down', { shutDown: () => new Promise<void>(() => {}), deadlineMs: 50 });
    stuck.app.quit();
    await waitFor('the quit to finish', () => stuck.app.exited, 5000, 5);
    expect(stuck.lines.join('\n')).toMatch(/took too long; quitting anyway/);
  });
});

describe('shutting VMs down at quit', () => {
  it('asks every live VM to power off (ACPI with a timeout, then forced) and leaves stopped ones alone', async () => {
    const { api, stops } = fakeVms([
      { id: 'a', name: 'web', state: 'running' },
      { id: 'b', name: 'db', state: 'paused' },
      { id: 'c', name: 'old', state: 'stopped' },
      { id: 'd', name: 'gone', state: 'crashed' },
      { id: 'e', name: 'booting', state: 'starting' },
      { id: 'f', name: 'leaving', state: 'shutting-down' },
    ]);
    const lines: string[] = [];
    await shutDownRunningVms(api, { timeoutMs: 30_000, log: (line) => lines.push(line) });
    expect(stops).toEqual([
      { id: 'a', options: { timeoutMs: 30_000 } },
      { id: 'b', options: { timeoutMs: 30_000 } },
      { id: 'e', options: { force: true } },
      { id: 'f', options: { timeoutMs: 30_000 } },
    ]);
    expect(lines).toContain('quit: VM "web" shut down');
  });

  it('stops them all at once and reports the ones that failed or had to be forced', async () => {
    let inFlight = 0;
    let most = 0;
    const { api } = fakeVms(
      [
        { id: 'a', name: 'web', state: 'running' },
        { id: 'b', name: 'db', state: 'running' },
        { id: 'c', name: 'stubborn', state: 'running' },
      ],
      async (id) => {
        inFlight += 1;
        most = Math.max(most, inFlight);
        await new Promise((resolve) => setTimeout(resolve, 20));
        inFlight -= 1;
        if (id === 'b') throw new Error('the QMP socket is gone');
        return { forced: id === 'c' };
      },
    );
    const lines: string[] = [];
    await shutDownRunningVms(api, { log: (line) => lines.push(line) });
    expect(most).toBe(3);
    expect(lines).toEqual(['quit: VM "web" shut down', 'quit: could not stop VM "db": the QMP socket is gone', 'quit: VM "stubborn" was forced off']);
  });
});
