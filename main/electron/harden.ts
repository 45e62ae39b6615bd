import type { HandlerDetails, WindowOpenHandlerResponse } from 'electron';
import { APP_ORIGIN, isTrustedUrl } from './security';

/** An event whose default (the navigation, the webview, …) can be refused. */
interface Preventable {
  preventDefault(): void;
}

/** The part of a WebContents the hardening touches. */
export interface HardenableContents {
  getURL(): string;
  on(event: 'will-navigate', listener: (event: Preventable & { url?: string }, url: string) => void): unknown;
  on(event: 'will-frame-navigate', listener: (event: Preventable & { url: string }) => void): unknown;
  on(event: 'will-redirect', listener: (event: Preventable & { url?: string }, url: string) => void): unknown;
  on(event: 'will-attach-webview', listener: (event: Preventable) => void): unknown;
  setWindowOpenHandler(handler: (details: HandlerDetails) => WindowOpenHandlerResponse): void;
}

export interface HardenOptions {
  /** `shell.openExternal`: https links open in the user's browser, never in the app. */
  openExternal(url: string): void;
  /** A console window for a VM; window.open of `#/console/<id>` by the app's own page lands here. */
  openConsoleWindow?(vmId: string): void;
  log(line: string): void;
}

const CONSOLE_ROUTE = /^#\/console\/([^/?#]+)$/;

/** The VM id of an app URL that shows a console (`app://virtdesk/index.html#/console/<id>`), else undefined. */
export function consoleRouteOf(url: string): string | undefined {
  if (!isTrustedUrl(url)) return undefined;
  const parsed = new URL(url);
  if (parsed.pathname !== '/index.html' && parsed.pathname !== '/') return undefined;
  const match = CONSOLE_ROUTE.exec(parsed.hash);
  if (!match?.[1]) return undefined;
  let id: string;
  try {
    id = decodeURIComponent(match[1]);
  } catch {
    return undefined;
  }
  return /^[A-Za-z0-9._-]{1,64}$/.test(id) ? id : undefined;
}

/** The URL a console window loads. */
export function consoleUrl(vmId: string): string {
  return `${APP_ORIGIN}/index.html#/console/${encodeURIComponent(vmId)}`;
}

/** Only https links go out, and only to the user's browser. */
export function isExternalLink(url: string): boolean {
  try {
    return new URL(url).protocol === 'https:';
  } catch {
    return false;
  }
}

/**
 * Locks down every WebContents the app makes (Electron security checklist 13–15): no navigation away
 * from the app's origin in any frame, no redirects out of it, no <webview>, and no window.open —
 * https links go to the user's browser, a console route of the app's own page becomes the app's
 * console window, everything else is refused.
 */
export function hardenWebContents(contents: HardenableContents, options: HardenOptions): void {
  const refuse = (event: Preventable, url: string | undefined, what: string) => {
    if (isTrustedUrl(url)) return;
    event.preventDefault();
    options.log(`refused ${what} to ${url ?? '(no url)'}`);
  };
  contents.on('will-navigate', (event, url) => refuse(event, event.url ?? url, 'navigation'));
  contents.on('will-frame-navigate', (event) => refuse(event, event.url, 'frame navigation'));
  contents.on('will-redirect', (event, url) => refuse(event, event.url ?? url, 'redirect'));
  contents.on('will-attach-webview', (event) => {
    event.preventDefault();
    options.log('refused a <webview>');
  });
  contents.setWindowOpenHandler(({ url }) => {
    const consoleOf = isTrustedUrl(contents.getURL()) ? consoleRouteOf(url) : undefined;
    if (consoleOf !== undefined && options.openConsoleWindow) {
      options.openConsoleWindow(consoleOf);
    } else if (isExternalLink(url)) {
      options.openExternal(url);
    } else {
      options.log(`refused window.open of ${url}`);
    }
    return { action: 'deny' };
  });
}

/** Permissions the app's own pages may have: fullscreen for the console, the clipboard for "paste as keys". */
const APP_PERMISSIONS = new Set(['fullscreen', 'clipboard-read', 'clipboard-sanitized-write']);

/**
 * Whether a permission is granted: a short allowlist for the app's own origin, nothing for anyone
 * else (camera, microphone, geolocation, notifications, HID/USB/serial, … are all refused).
 */
export function permissionAllowed(permission: string, requestingUrl: string | undefined): boolean {
  return APP_PERMISSIONS.has(permission) && isTrustedUrl(requestingUrl);
}

/** The part of a Session the permission policy sets. */
export interface PermissionSession {
  setPermissionRequestHandler(
    handler: (contents: { getURL(): string } | null, permission: string, callback: (granted: boolean) => void, details: { requestingUrl?: string }) => void,
  ): void;
  setPermissionCheckHandler(handler: (contents: unknown, permission: string, requestingOrigin: string, details: { requestingUrl?: string }) => boolean): void;
  setDevicePermissionHandler(handler: () => boolean): void;
}

export function applyPermissionPolicy(session: PermissionSession, log: (line: string) => void): void {
  session.setPermissionRequestHandler((contents, permission, callback, details) => {
    const url = details.requestingUrl ?? contents?.getURL();
    const granted = permissionAllowed(permission, url);
    if (!granted) log(`refused permission "${permission}" to ${url ?? '(unknown page)'}`);
    callback(granted);
  });
  session.setPermissionCheckHandler((_contents, permission, requestingOrigin, details) => permissionAllowed(permission, details.requestingUrl ?? requestingOrigin));
  session.setDevicePermissionHandler(() => false);
}
