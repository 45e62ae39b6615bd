import { existsSync } from 'node:fs';
import type { Browser, BrowserContext, BrowserType } from 'playwright-core';
import type { ServeHost } from './serve-host';

/** Debian's Chromium, as the e2e tests use it (ENVIRONMENT.md); never a downloaded browser. */
export const CHROMIUM = process.env.VIRTDESK_CHROMIUM ?? '/usr/bin/chromium';

/** The flags the e2e tests use: a closed network otherwise floods the run with refused connections. */
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
  '--disable-quic',
];

/** Why Chromium cannot be driven here, or undefined when it can. */
export function chromiumMissing(): string | undefined {
  if (!existsSync(CHROMIUM)) return `no Chromium at ${CHROMIUM} (apt-get install chromium, or set VIRTDESK_CHROMIUM)`;
  return undefined;
}

/**
 * Launches headless Chromium through playwright-core. The module name is a variable so the bench
 * bundle leaves playwright-core in node_modules (it does not survive bundling).
 */
export async function launchChromium(): Promise<Browser> {
  const moduleName = 'playwright-core';
  const { chromium } = (await import(moduleName)) as { chromium: BrowserType };
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}

/** A browser context already signed in to `host` (its session cookie), with a 1280×800 window. */
export async function signedInContext(browser: Browser, host: ServeHost): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  await context.addCookies([{ name: host.cookie.name, value: host.cookie.value, url: host.origin, httpOnly: true, sameSite: 'Strict' }]);
  // Functions handed to page.evaluate are serialized; run from TypeScript through tsx, esbuild's
  // keep-names helper inside them would be undefined in the page.
  await context.addInitScript({ content: 'globalThis.__name ??= (target) => target;' });
  return context;
}
