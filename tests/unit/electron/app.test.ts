import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CallContext } from '../../../engine/api/contract';
import { EngineError } from '../../../engine/api/errors';
import { createEventBus } from '../../../engine/api/events';
import type { Engine, EngineOptions } from '../../../engine/engine';
import type { VmState } from '../../../engine/vm/states';
import { startElectronApp } from '../../../main/electron/app';
import { RPC_CHANNEL } from '../../../main/electron/rpc-bridge';
import { ELECTRON_CSP } from '../../../main/electron/security';
import { waitFor } from '../../support/vm-helpers';
import { FakeBrowserWindow, fakeElectron, FakeWebContents } from './fake-electron';

let dir: string;
let electronDir: string;
let home: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vd-electron-app-'));
  electronDir = join(dir, 'dist', 'electron');
  home = join(dir, 'home');
  await mkdir(join(dir, 'dist', 'renderer'), { recursive: true });
  await mkdir(electronDir, { recursive: true });
  await writeFile(join(dir, 'dist', 'renderer', 'index.html'), '<!doctype html><div id="app"></div>');
  await writeFile(join(dir, 'secret.txt'), 'not for the renderer');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface FakeEngine {
  engine: Engine;
  options: EngineOptions[];
  hostCalls: string[];
  stops: { id: string; options: unknown }[];
  saves: string[];
  closed: boolean;
}

function fakeEngine(vms: { id: string; name: string; state: VmState }[], onQuit = 'keep-running'): FakeEngine {
  const state: FakeEngine = { engine: undefined as unknown as Engine, options: [], hostCalls: [], stops: [], saves: [], closed: false };
  state.engine = {
    bus: createEventBus<Record<string, unknown>>(),
    implementation: {
      host: {
        info: (_params: unknown, context: CallContext) => {
          state.hostCalls.push(context.peer.connectionId);
          return { engineVersion: '0', hostname: 'h', hostKind: 'electron' };
        },
        openConsoleWindow: () => ({ opened: false }),
      },
      preferences: { get: async () => ({ onQuit }) },
    },
    vms: {
      get: async (ref: string) => {
        const vm = vms.find((candidate) => candidate.id === ref || candidate.name === ref);
        if (!vm) throw new EngineError('not-found', `No VM "${ref}".`);
        return { definition: { id: vm.id, name: vm.name } };
      },
      list: async () => vms,
      stop: async (id: string, options: unknown) => {
        state.stops.push({ id, options });
        return { stopped: true, forced: false };
      },
      save: async (id: string) => {
        state.saves.push(id);
        return {};
      },
    },
    close: async () => {
      state.closed = true;
    },
  } as unknown as Engine;
  return state;
}

async function started(vms: { id: string; name: string; state: VmState }[] = [], onQuit = 'keep-running') {
  const electron = fakeElectron();
  const engine = fakeEngine(vms, onQuit);
  const lines: string[] = [];
  const { ready } = startElectronApp(electron.module, {
    electronDir,
    env: { VIRTDESK_HOME: home },
    createEngine: async (options) => {
      engine.options.push(options);
      return engine.engine;
    },
    log: (line) => lines.push(line),
  });
  electron.app.ready();
  await ready;
  return { electron, engine, lines };
}

const rpc = (electron: ReturnType<typeof fakeElectron>, contents: FakeWebContents, frameUrl: string, message: unknown) =>
  electron.ipcMain.emit(RPC_CHANNEL, { sender: contents, senderFrame: { url: frameUrl } }, JSON.stringify(message));

describe('the Electron app (electron mocked)', () => {
  it('registers app:// as a privileged scheme before ready and takes the single-instance lock', () => {
    const electron = fakeElectron();
    startElectronApp(electron.module, { electronDir, env: { VIRTDESK_HOME: home }, createEngine: () => new Promise(() => {}), log: () => {} });
    expect(electron.protocol.privileged).toEqual([{ scheme: 'app', privileges: { standard: true, secure: true, supportFetchAPI: true } }]);
    expect(electron.app.quitCalls).toBe(0);
  });

  it('a second instance quits at once and leaves the first one to show its window', async () => {
    const electron = fakeElectron({ lock: false });
    let engines = 0;
    startElectronApp(electron.module, { electronDir, env: { VIRTDESK_HOME: home }, createEngine: async () => ((engines += 1), fakeEngine([]).engine), log: () => {} });
    electron.app.ready();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(electron.app.quitCalls).toBe(1);
    expect(engines).toBe(0);
    expect(FakeBrowserWindow.all).toEqual([]);
  });

  it('starts the engine with a utilityProcess per VM and the supervisor beside the bundle', async () => {
    const { engine, electron } = await started();
    const options = engine.options[0]!;
    expect(options).toMatchObject({ home, hostKind: 'electron', supervisorEntry: join(dir, 'dist', 'node', 'supervisor.cjs') });
    options.workers({ modulePath: options.supervisorEntry, name: 'vm x' });
    expect(electron.utility.children[0]!.modulePath).toBe(join(dir, 'dist', 'node', 'supervisor.cjs'));
  });

  it('opens the manager window locked down, with no app menu', async () => {
    const { electron } = await started();
    expect(electron.menus).toEqual([null]);
    const [manager] = FakeBrowserWindow.all;
    expect(manager!.options.webPreferences).toMatchObject({
      preload: join(electronDir, 'preload.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webviewTag: false,
    });
    expect(manager!.webContents.url).toBe('app://virtdesk/index.html');
    manager!.emit('ready-to-show');
    expect(manager!.calls).toContain('show');
  });

  it('gives every window the app icon, and on Wayland restores window sizes but never positions', async () => {
    await mkdir(home, { recursive: true });
    await writeFile(join(home, 'window-state.json'), JSON.stringify({ schemaVersion: 1, windows: { manager: { x: 40, y: 30, width: 1000, height: 700, maximized: false } } }));
    for (const [env, positioned] of [
      [{ DISPLAY: ':0' }, true],
      [{ XDG_SESSION_TYPE: 'wayland', WAYLAND_DISPLAY: 'wayland-0' }, false],
    ] as const) {
      const electron = fakeElectron();
      const { ready } = startElectronApp(electron.module, { electronDir, env: { VIRTDESK_HOME: home, ...env }, createEngine: async () => fakeEngine([]).engine, log: () => {} });
      electron.app.ready();
      await ready;
      const manager = FakeBrowserWindow.all[0]!;
      expect(manager.options.icon).toBe(join(dir, 'assets', 'icons', '256x256.png'));
      expect(manager.options).toMatchObject({ width: 1000, height: 700 });
      expect(manager.options.x).toBe(positioned ? 40 : undefined);
    }
  });

  it('serves the renderer over app:// with the CSP, and nothing outside it', async () => {
    const { electron } = await started();
    const handler = electron.protocol.handlers.get('app')!;
    const page = await handler(new Request('app://virtdesk/index.html'));
    expect(page.status).toBe(200);
    expect(page.headers.get('Content-Security-Policy')).toBe(ELECTRON_CSP);
    const escape = await handler(new Request('app://virtdesk/..%2f..%2fsecret.txt'));
    expect(escape.status).toBe(404);
    expect(escape.headers.get('Content-Security-Policy')).toBe(ELECTRON_CSP);
  });

  it('refuses permission requests', async () => {
    const { electron } = await started();
    let granted: boolean | undefined;
    electron.permissions.request!({ getURL: () => 'app://virtdesk/index.html' }, 'media', (answer) => (granted = answer), { requestingUrl: 'app://virtdesk/index.html' });
    expect(granted).toBe(false);
  });

  it('locks down every WebContents: no foreign navigation, window.open denied, https to the browser', async () => {
    const { electron } = await started();
    const contents = FakeBrowserWindow.all[0]!.webContents;
    let prevented = false;
    contents.emit('will-navigate', { url: 'https://evil.example/', preventDefault: () => (prevented = true) }, 'https://evil.example/');
    expect(prevented).toBe(true);
    expect(contents.openHandler!({ url: 'https://www.qemu.org/' })).toEqual({ action: 'deny' });
    expect(electron.external).toEqual(['https://www.qemu.org/']);
  });

  it('drops RPC from untrusted frames and serves it to the app, with console windows behind host.openConsoleWindow', async () => {
    const { electron, engine } = await started([{ id: 'vm-1', name: 'web', state: 'running' }]);
    // One IPC channel into main, and it is the checked one.
    expect(electron.ipcMain.eventNames()).toEqual([RPC_CHANNEL]);
    const contents = FakeBrowserWindow.all[0]!.webContents;
    rpc(electron, contents, 'https://evil.example/', { t: 'call', id: 1, method: 'host.info', params: {} });
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(engine.hostCalls).toEqual([]);
    expect(contents.sent).toEqual([]);

    rpc(electron, contents, 'app://virtdesk/index.html', { t: 'call', id: 2, method: 'host.openConsoleWindow', params: { id: 'web' } });
    await waitFor('the answer', () => contents.sent.length === 1, 5000, 5);
    expect(contents.sent[0]).toEqual({ t: 'result', id: 2, value: { opened: true } });
    const consoleWindow = FakeBrowserWindow.all[1]!;
    expect(consoleWindow.webContents.url).toBe('app://virtdesk/index.html#/console/vm-1');
    expect(consoleWindow.options.webPreferences).toMatchObject({ contextIsolation: true, sandbox: true, nodeIntegration: false });

    // Asked again: the same window comes to the front.
    rpc(electron, contents, 'app://virtdesk/index.html', { t: 'call', id: 3, method: 'host.openConsoleWindow', params: { id: 'vm-1' } });
    await waitFor('the answer', () => contents.sent.length === 2, 5000, 5);
    expect(FakeBrowserWindow.all).toHaveLength(2);
    expect(consoleWindow.calls).toContain('focus');

    rpc(electron, contents, 'app://virtdesk/index.html', { t: 'call', id: 4, method: 'host.openConsoleWindow', params: { id: 'nope' } });
    await waitFor('the answer', () => contents.sent.length === 3, 5000, 5);
    expect(contents.sent[2]).toMatchObject({ t: 'error', id: 4, error: { code: 'not-found' } });
  });

  it("delivers a console port only to the window whose RPC connection asked", async () => {
    const { electron, engine } = await started();
    const manager = FakeBrowserWindow.all[0]!.webContents;
    const other = new FakeWebContents();
    other.url = 'app://virtdesk/index.html';
    electron.contents.set(other.id, other);
    const { ticket } = engine.options[0]!.consoles.open({ vmId: 'vm-1', kind: 'vnc', socketPath: join(dir, 'no-such.sock') }, { connectionId: `window-${manager.id}` });
    expect(manager.posted).toEqual([{ channel: 'virtdesk:console', message: { ticket }, ports: [expect.anything()] }]);
    expect(other.posted).toEqual([]);
  });

  it("applies the quit preference before quitting: 'shut-down' stops running VMs, then the engine detaches", async () => {
    const { electron, engine } = await started(
      [
        { id: 'a', name: 'web', state: 'running' },
        { id: 'b', name: 'old', state: 'stopped' },
      ],
      'shut-down',
    );
    electron.app.quit();
    expect(electron.app.quitted).toBe(false);
    expect(FakeBrowserWindow.all[0]!.calls).toContain('hide');
    await waitFor('the quit to go ahead', () => electron.app.quitted, 5000, 5);
    expect(engine.stops).toEqual([{ id: 'a', options: { waitMs: 30_000 } }]);
    expect(engine.closed).toBe(true);
  });

  it("saves running VMs before quitting when the preference is 'save'", async () => {
    const { electron, engine, lines } = await started(
      [
        { id: 'a', name: 'web', state: 'running' },
        { id: 'b', name: 'db', state: 'paused' },
        { id: 'c', name: 'old', state: 'stopped' },
      ],
      'save',
    );
    electron.app.quit();
    await waitFor('the quit to go ahead', () => electron.app.quitted, 5000, 5);
    expect(engine.saves).toEqual(['a', 'b']);
    expect(engine.stops).toEqual([]);
    expect(lines).toContain('quit: saved VM "web"');
    expect(engine.closed).toBe(true);
  });

  it('keeps VMs running on quit by default', async () => {
    const { electron, engine } = await started([{ id: 'a', name: 'web', state: 'running' }]);
    electron.app.emit('window-all-closed');
    await waitFor('the quit to go ahead', () => electron.app.quitted, 5000, 5);
    expect(engine.stops).toEqual([]);
    expect(engine.closed).toBe(true);
  });

  it('says why when the engine cannot start, and exits', async () => {
    const electron = fakeElectron();
    const { ready } = startElectronApp(electron.module, {
      electronDir,
      env: { VIRTDESK_HOME: home },
      createEngine: () => Promise.reject(new Error('EACCES: permission denied, mkdir')),
      log: () => {},
    });
    electron.app.ready();
    await ready;
    expect(electron.errorBoxes[0]).toMatch(/^Virtdesk cannot start: The VM engine did not start: EACCES/);
    expect(electron.app.exitCode).toBe(1);
  });

  it('says what failed when the manager page does not load, instead of an uncaught rejection', async () => {
    const electron = fakeElectron({ loadFails: "ERR_FILE_NOT_FOUND (-6) loading 'app://virtdesk/index.html'" });
    const lines: string[] = [];
    const { ready } = startElectronApp(electron.module, { electronDir, env: { VIRTDESK_HOME: home }, createEngine: async () => fakeEngine([]).engine, log: (line) => lines.push(line) });
    electron.app.ready();
    await expect(ready).resolves.toBeUndefined();
    expect(electron.errorBoxes).toHaveLength(1);
    expect(electron.errorBoxes[0]).toMatch(/^Virtdesk cannot show its window: Loading the app's page \(.*dist\/renderer\) failed: ERR_FILE_NOT_FOUND/);
    expect(electron.errorBoxes[0]).toContain('npm run build');
    expect(lines).toContain("cannot show the manager window: ERR_FILE_NOT_FOUND (-6) loading 'app://virtdesk/index.html'");
    expect(electron.app.exitCode).toBe(1);
  });

  it('turns any other start-up failure into an error box, never a rejected promise', async () => {
    const electron = fakeElectron();
    // Something unforeseen before any window exists.
    (electron.module.protocol as { handle: unknown }).handle = () => {
      throw new Error('scheme "app" is already handled');
    };
    const { ready } = startElectronApp(electron.module, { electronDir, env: { VIRTDESK_HOME: home }, createEngine: async () => fakeEngine([]).engine, log: () => {} });
    electron.app.ready();
    await expect(ready).resolves.toBeUndefined();
    expect(electron.errorBoxes[0]).toMatch(/^Virtdesk cannot start: Starting the app failed: scheme "app" is already handled/);
    expect(electron.app.exitCode).toBe(1);
  });
});
