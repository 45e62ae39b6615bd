import type { WebPreferences } from 'electron';
import { CONTENT_SECURITY_POLICY } from '../content-security-policy';

/** The app's own origin: the renderer is served from this privileged scheme, never from file://. */
export const APP_SCHEME = 'app';
export const APP_HOST = 'virtdesk';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;

export const ELECTRON_CSP = CONTENT_SECURITY_POLICY;

/** webPreferences for every window (Electron security checklist). */
export function secureWebPreferences(preloadPath: string): WebPreferences {
  return {
    preload: preloadPath,
    contextIsolation: true,
    sandbox: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    nodeIntegrationInSubFrames: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    experimentalFeatures: false,
    webviewTag: false,
    navigateOnDragDrop: false,
    spellcheck: false,
  };
}

/** True only for frames that show the app's own pages. */
export function isTrustedUrl(url: string | undefined): boolean {
  if (!url) return false;
  try {
    const parsed = new URL(url);
    return parsed.protocol === `${APP_SCHEME}:` && parsed.host === APP_HOST;
  } catch {
    return false;
  }
}

/** Maps an app:// URL path to a file below the renderer root, or undefined when it escapes it. */
export function rendererFileFor(url: string, rendererRoot: string): string | undefined {
  if (!isTrustedUrl(url)) return undefined;
  let path: string;
  try {
    path = decodeURIComponent(new URL(url).pathname);
  } catch {
    // A malformed escape (`%E0%A4%A`): no such file, answered 404 like any other.
    return undefined;
  }
  if (path === '/' || path === '') path = '/index.html';
  if (path.includes('\0')) return undefined;
  const segments = path.split('/').filter((segment) => segment !== '' && segment !== '.');
  if (segments.some((segment) => segment === '..')) return undefined;
  return [rendererRoot.replace(/\/$/, ''), ...segments].join('/');
}
