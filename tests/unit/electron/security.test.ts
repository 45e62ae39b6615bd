import { describe, expect, it } from 'vitest';
import { ELECTRON_CSP, isTrustedUrl, rendererFileFor, secureWebPreferences } from '../../../main/electron/security';

describe('Electron window security', () => {
  it('turns on isolation and sandbox and turns off Node in every window', () => {
    const prefs = secureWebPreferences('/app/preload.cjs');
    expect(prefs).toMatchObject({
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      webviewTag: false,
      preload: '/app/preload.cjs',
    });
  });

  it('trusts only the app:// origin as an IPC sender or navigation target', () => {
    expect(isTrustedUrl('app://virtdesk/index.html')).toBe(true);
    expect(isTrustedUrl('app://other/index.html')).toBe(false);
    expect(isTrustedUrl('file:///etc/passwd')).toBe(false);
    expect(isTrustedUrl('https://virtdesk/')).toBe(false);
    expect(isTrustedUrl(undefined)).toBe(false);
    expect(isTrustedUrl('not a url')).toBe(false);
  });

  it('maps app:// paths into the renderer folder and refuses escapes', () => {
    expect(rendererFileFor('app://virtdesk/', '/r')).toBe('/r/index.html');
    expect(rendererFileFor('app://virtdesk/assets/a.js', '/r')).toBe('/r/assets/a.js');
    // The URL parser resolves dot segments itself, so this one stays inside the root.
    expect(rendererFileFor('app://virtdesk/%2e%2e/%2e%2e/etc/passwd', '/r')).toBe('/r/etc/passwd');
    // Encoded slashes survive URL parsing; decoding them must not open a way out.
    expect(rendererFileFor('app://virtdesk/a%2F..%2F..%2Fetc%2Fpasswd', '/r')).toBeUndefined();
    expect(rendererFileFor('app://virtdesk/a%00b', '/r')).toBeUndefined();
    expect(rendererFileFor('app://evil/index.html', '/r')).toBeUndefined();
  });

  it('treats a malformed percent escape as no file instead of throwing', () => {
    expect(() => decodeURIComponent('/%E0%A4%A')).toThrow(URIError);
    expect(rendererFileFor('app://virtdesk/%E0%A4%A', '/r')).toBeUndefined();
    expect(rendererFileFor('app://virtdesk/assets/%ZZ.js', '/r')).toBeUndefined();
  });

  it('ships a CSP without inline or remote scripts', () => {
    expect(ELECTRON_CSP).toContain("script-src 'self'");
    expect(ELECTRON_CSP).not.toMatch(/script-src[^;]*unsafe/);
    expect(ELECTRON_CSP).toContain("object-src 'none'");
  });
});
