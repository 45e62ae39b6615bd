import { EventEmitter } from 'node:events';
import type { HandlerDetails, WindowOpenHandlerResponse } from 'electron';
import { describe, expect, it } from 'vitest';
import { applyPermissionPolicy, consoleRouteOf, hardenWebContents, permissionAllowed, type HardenableContents, type PermissionSession } from '../../../main/electron/harden';

class FakeContents extends EventEmitter {
  url = 'app://virtdesk/index.html';
  openHandler: ((details: HandlerDetails) => WindowOpenHandlerResponse) | undefined;
  getURL() {
    return this.url;
  }
  setWindowOpenHandler(handler: (details: HandlerDetails) => WindowOpenHandlerResponse) {
    this.openHandler = handler;
  }
  /** Fires a navigation-like event the way Electron does; true when it was refused. */
  attempt(event: 'will-navigate' | 'will-redirect' | 'will-frame-navigate', url: string): boolean {
    let prevented = false;
    const details = { url, preventDefault: () => (prevented = true) };
    if (event === 'will-frame-navigate') this.emit(event, details);
    else this.emit(event, details, url);
    return prevented;
  }
  open(url: string): WindowOpenHandlerResponse {
    return this.openHandler!({ url, frameName: '', features: '', disposition: 'new-window', referrer: { url: '', policy: 'default' } } as HandlerDetails);
  }
}

function setup() {
  const contents = new FakeContents();
  const external: string[] = [];
  const consoles: string[] = [];
  const lines: string[] = [];
  hardenWebContents(contents as unknown as HardenableContents, {
    openExternal: (url) => external.push(url),
    openConsoleWindow: (id) => consoles.push(id),
    log: (line) => lines.push(line),
  });
  return { contents, external, consoles, lines };
}

describe('WebContents hardening', () => {
  it('prevents navigation, frame navigation and redirects to anything but the app origin', () => {
    const { contents, lines } = setup();
    for (const event of ['will-navigate', 'will-frame-navigate', 'will-redirect'] as const) {
      expect(contents.attempt(event, 'https://evil.example/'), event).toBe(true);
      expect(contents.attempt(event, 'file:///etc/passwd'), event).toBe(true);
      expect(contents.attempt(event, 'app://other/index.html'), event).toBe(true);
      expect(contents.attempt(event, 'javascript:alert(1)'), event).toBe(true);
      expect(contents.attempt(event, 'app://virtdesk/index.html#/machines'), event).toBe(false);
    }
    expect(lines).toContain('refused navigation to https://evil.example/');
  });

  it('refuses <webview>', () => {
    const { contents } = setup();
    let prevented = false;
    contents.emit('will-attach-webview', { preventDefault: () => (prevented = true) }, {}, {});
    expect(prevented).toBe(true);
  });

  it('denies every window.open; https links go to the browser, nothing else leaves', () => {
    const { contents, external, consoles } = setup();
    expect(contents.open('https://www.qemu.org/docs/')).toEqual({ action: 'deny' });
    expect(contents.open('http://plain.example/')).toEqual({ action: 'deny' });
    expect(contents.open('file:///etc/passwd')).toEqual({ action: 'deny' });
    expect(contents.open('app://virtdesk/index.html#/machines')).toEqual({ action: 'deny' });
    expect(external).toEqual(['https://www.qemu.org/docs/']);
    expect(consoles).toEqual([]);
  });

  it("turns the app's own window.open of a console route into the app's console window", () => {
    const { contents, consoles, external } = setup();
    expect(contents.open('app://virtdesk/index.html#/console/0f3a-vm')).toEqual({ action: 'deny' });
    expect(consoles).toEqual(['0f3a-vm']);
    // Not from a foreign page, and not for ids that are not ids.
    contents.url = 'https://evil.example/';
    contents.open('app://virtdesk/index.html#/console/other');
    expect(consoles).toEqual(['0f3a-vm']);
    expect(external).toEqual([]);
  });

  it('reads console routes strictly', () => {
    expect(consoleRouteOf('app://virtdesk/index.html#/console/abc-123')).toBe('abc-123');
    expect(consoleRouteOf('app://virtdesk/#/console/abc')).toBe('abc');
    expect(consoleRouteOf('app://virtdesk/index.html#/console/a%2Fb')).toBeUndefined();
    expect(consoleRouteOf('app://virtdesk/index.html#/console/a/b')).toBeUndefined();
    expect(consoleRouteOf('app://virtdesk/other.html#/console/abc')).toBeUndefined();
    expect(consoleRouteOf('https://virtdesk/index.html#/console/abc')).toBeUndefined();
    expect(consoleRouteOf('app://virtdesk/index.html#/console/%E0%A4%A')).toBeUndefined();
  });
});

describe('permission policy', () => {
  function session() {
    const handlers: Partial<{
      request: Parameters<PermissionSession['setPermissionRequestHandler']>[0];
      check: Parameters<PermissionSession['setPermissionCheckHandler']>[0];
      device: Parameters<PermissionSession['setDevicePermissionHandler']>[0];
    }> = {};
    const fake: PermissionSession = {
      setPermissionRequestHandler: (handler) => (handlers.request = handler),
      setPermissionCheckHandler: (handler) => (handlers.check = handler),
      setDevicePermissionHandler: (handler) => (handlers.device = handler),
    };
    const lines: string[] = [];
    applyPermissionPolicy(fake, (line) => lines.push(line));
    const request = (permission: string, url: string) => {
      let answer: boolean | undefined;
      handlers.request!({ getURL: () => url }, permission, (granted) => (answer = granted), { requestingUrl: url });
      return answer;
    };
    return { handlers, request, lines };
  }

  it('denies every permission request but fullscreen and the clipboard, and those only to the app', () => {
    const { request, lines } = session();
    for (const permission of ['media', 'geolocation', 'notifications', 'midi', 'pointerLock', 'openExternal', 'display-capture', 'hid', 'serial', 'usb']) {
      expect(request(permission, 'app://virtdesk/index.html'), permission).toBe(false);
    }
    expect(request('fullscreen', 'app://virtdesk/index.html')).toBe(true);
    expect(request('clipboard-read', 'app://virtdesk/index.html#/console/x')).toBe(true);
    expect(request('fullscreen', 'https://evil.example/')).toBe(false);
    expect(request('clipboard-read', 'file:///tmp/x.html')).toBe(false);
    expect(lines).toContain('refused permission "media" to app://virtdesk/index.html');
  });

  it('answers permission checks the same way and refuses every device', () => {
    const { handlers } = session();
    expect(handlers.check!(null, 'media', 'app://virtdesk', {})).toBe(false);
    expect(handlers.check!(null, 'clipboard-read', 'app://virtdesk', {})).toBe(true);
    expect(handlers.check!(null, 'clipboard-read', 'https://evil.example', {})).toBe(false);
    expect(handlers.device!()).toBe(false);
    expect(permissionAllowed('fullscreen', undefined)).toBe(false);
  });
});
