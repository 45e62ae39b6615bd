import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { median, type SuiteContext, type SuiteDefinition, type Variant, type VariantResult } from './harness';
import { chromiumMissing, launchChromium, signedInContext } from './support/browser';
import { createGuestVm, runtimePathsOf, SerialShell, sleep, startGuests } from './support/guest-vms';
import { difference, pairedMedian, ratio } from './support/paired';
import { cpuSeconds, descendantsOf } from './support/proc';
import { builtCli } from './support/repo';
import { startServe, type ServeHost } from './support/serve-host';
import { KEYSYM, RfbClient } from './vnc/rfb-client';

/**
 * Suite 2 (issue 6): the console through Virtdesk's stream in Chromium (`virtdesk serve`, the
 * renderer's console view with noVNC over the /console WebSocket) against a direct VNC client on
 * the same VM's socket. One viewer at a time: each sample connects, measures, disconnects.
 */

const DIRECT = 'direct VNC client (Node, same socket)';
const VIA_SERVE = 'same client through serve /console (Node, WebSocket)';
const BROWSER = 'Virtdesk console in Chromium (serve + noVNC)';

/** tty1 with no blinking cursor and no screen blanking: only what the benchmark draws changes it. */
const QUIET_TTY1 = "printf '\\033[?25l\\033[9;0]\\033[0m\\033[H\\033[J' > /dev/tty1";

/**
 * Redraws the whole 80×25 text screen about 100 times a second, each time in another colour
 * pair, with a counter so no two screens are alike: every refresh QEMU's VNC server finds
 * (nearly) every pixel changed.
 */
const FULL_SCREEN_LOOP =
  "body=$(printf '%1993s' '' | tr ' ' '#'); " +
  "(i=0; while :; do for f in 1 2 3 4 5 6 7; do i=$((i+1)); printf '\\033[H\\033[3%d;4%dm%06d%s' $f $((7-f)) $i \"$body\"; usleep 5000; done; done > /dev/tty1 2>&1) &";

/**
 * A counter in the bottom-right corner of tty1, redrawn every 20 ms (cursor saved and restored
 * around it), like a clock on a desktop. It keeps QEMU's VNC refresh at its fastest: on an idle
 * screen QEMU stretches the refresh interval and keystroke latency then mostly measures its
 * timer (a bimodal 5/80 ms depending on key timing) rather than the viewer.
 */
const TICKER_LOOP = "(i=0; while :; do i=$((i+1)); printf '\\0337\\033[25;71H%08d\\0338' $i; usleep 20000; done > /dev/tty1 2>&1) &";

/** Typed keys echo at the top-left of the cleared tty1; the ticker lives on the last row. */
const ECHO_AREA_BOTTOM_PX = 32;

/** Runs in the page before the app: counts the console canvas's redraws and times keystrokes. */
function instrumentPage(): void {
  interface Bench {
    draws: number;
    lastDrawAt: number;
    armed: boolean;
    keyAt: number | undefined;
    drawAfterKey: number | undefined;
    echoAreaBottom: number;
  }
  const bench: Bench = { draws: 0, lastDrawAt: 0, armed: false, keyAt: undefined, drawAfterKey: undefined, echoAreaBottom: 0 };
  (window as unknown as { __vdBench: Bench }).__vdBench = bench;
  const drawImage = CanvasRenderingContext2D.prototype.drawImage;
  // noVNC draws each FramebufferUpdate into a back buffer and copies it to the visible canvas once
  // the update is complete (Display.flip): one drawImage on a canvas in the page per update.
  CanvasRenderingContext2D.prototype.drawImage = function (this: CanvasRenderingContext2D, ...args: unknown[]) {
    const result = (drawImage as (...a: unknown[]) => void).apply(this, args);
    const canvas = this.canvas;
    if (canvas.isConnected && canvas.closest('[data-testid^="console-screen-"]')) {
      const at = performance.now();
      bench.draws++;
      bench.lastDrawAt = at;
      // drawImage(backBuffer, sx, sy, w, h, dx, dy, w, h): dy is where on the screen it landed.
      const top = typeof args[6] === 'number' ? args[6] : 0;
      if (bench.keyAt !== undefined && bench.drawAfterKey === undefined && top < bench.echoAreaBottom) bench.drawAfterKey = at;
    }
    return result;
  } as typeof drawImage;
  window.addEventListener(
    'keydown',
    (event) => {
      if (!bench.armed) return;
      bench.armed = false;
      const now = performance.now();
      // The event's own time stamp includes the browser's input pipeline; trust it when sane.
      bench.keyAt = event.timeStamp > now - 1000 && event.timeStamp <= now ? event.timeStamp : now;
    },
    true,
  );
}

interface ConsoleBench {
  host: ServeHost;
  vmId: string;
  vncSocket: string;
  shell: SerialShell;
  browser?: Browser;
  page?: Page;
  browserSkip?: string;
  dispose(): Promise<void>;
}

async function prepareConsoleBench(context: SuiteContext, guestSetup: string): Promise<ConsoleBench> {
  const cli = await builtCli();
  if ('missing' in cli) throw new Error(cli.missing);
  const home = await mkdtemp(join(tmpdir(), 'vdbench-'));
  const cleanups: (() => Promise<void>)[] = [() => rm(home, { recursive: true, force: true })];
  const dispose = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch((error: unknown) => context.log(`cleanup: ${String(error)}`));
  };
  try {
    const host = await startServe(home);
    cleanups.push(() => host.stop());
    const vmId = await createGuestVm(host, 'console');
    await startGuests(host, [vmId]);
    const paths = runtimePathsOf(host, vmId);
    const shell = await SerialShell.open(paths);
    cleanups.push(async () => shell.close());
    await shell.run(QUIET_TTY1);
    await shell.run(guestSetup);
    const bench: ConsoleBench = { host, vmId, vncSocket: paths.vncSocket, shell, dispose };
    const missing = chromiumMissing();
    if (missing) {
      bench.browserSkip = missing;
      return bench;
    }
    const browser = await launchChromium();
    cleanups.push(() => browser.close());
    const browserContext = await signedInContext(browser, host);
    const page = await browserContext.newPage();
    await page.addInitScript(instrumentPage);
    await page.goto(`${host.origin}/#/machines`);
    await page.getByTestId('vm-list').waitFor({ timeout: 60_000 });
    bench.browser = browser;
    bench.page = page;
    context.log(`serve pid ${host.pid}, VM ${vmId}, Chromium ${browser.version()}`);
    return bench;
  } catch (error) {
    await dispose();
    throw error;
  }
}

/** A direct viewer: a one-time password from vms.openConsole (as any viewer gets), then RFB on the VM's socket. */
async function openDirect(bench: ConsoleBench): Promise<RfbClient> {
  const { password } = await bench.host.rpc.api.vms.openConsole({ id: bench.vmId, kind: 'vnc' });
  const client = await RfbClient.connect(bench.vncSocket, { password: password ?? '' });
  client.stream();
  await client.nextUpdate(20_000);
  return client;
}

/** The same client as `openDirect`, through serve's /console WebSocket: the stream without the browser. */
async function openViaServe(bench: ConsoleBench): Promise<RfbClient> {
  const { stream, password } = await bench.host.openVncStream(bench.vmId);
  const client = await RfbClient.connect({ stream, name: `${bench.host.origin}/console` }, { password });
  client.stream();
  await client.nextUpdate(20_000);
  return client;
}

/** Opens the VM's console tab in the page and waits until noVNC draws the guest's screen. */
async function openBrowserConsole(bench: ConsoleBench): Promise<Page> {
  const page = bench.page!;
  const draws = await page.evaluate(() => (window as unknown as { __vdBench: { draws: number } }).__vdBench.draws);
  await page.evaluate((id) => (window.location.hash = `#/machines/${id}/console`), bench.vmId);
  await page.locator(`[data-testid="console-screen-${bench.vmId}"]`).waitFor({ timeout: 30_000 });
  await page.waitForFunction((before) => (window as unknown as { __vdBench: { draws: number } }).__vdBench.draws > before, draws, { timeout: 30_000 });
  return page;
}

/** Leaves the console tab (the view closes its stream) and gives QEMU a moment to drop the viewer. */
async function closeBrowserConsole(bench: ConsoleBench): Promise<void> {
  const page = bench.page!;
  await page.evaluate(() => (window.location.hash = '#/machines'));
  await page.locator(`[data-testid="console-screen-${bench.vmId}"]`).waitFor({ state: 'detached', timeout: 30_000 });
  await sleep(300);
}

/** CPU use of QEMU, serve and Chromium (all its processes) over a window, for the log. */
function cpuWatch(bench: ConsoleBench) {
  return {
    async start(): Promise<() => Promise<string>> {
      const qemu = await bench.host.qemus();
      const chromium = await descendantsOf(process.pid, (info) => info.args[0]?.includes('chrom') ?? false);
      const groups = { QEMU: qemu, serve: [bench.host.pid], Chromium: chromium };
      const before = await Promise.all(Object.values(groups).map((pids) => cpuSeconds(pids)));
      const started = performance.now();
      return async () => {
        const after = await Promise.all(Object.values(groups).map((pids) => cpuSeconds(pids)));
        const seconds = (performance.now() - started) / 1000;
        return Object.keys(groups)
          .map((name, i) => `${name} ${(((after[i]! - before[i]!) / seconds) * 100).toFixed(0)} %`)
          .join(', ');
      };
    },
  };
}

function browserVariant(bench: ConsoleBench, measure: () => Promise<number>): Variant {
  return bench.browserSkip ? { label: BROWSER, measure, skip: bench.browserSkip } : { label: BROWSER, measure };
}

const WARM_UP_MS = 500;

/** Frames per second while the guest redraws its whole screen continuously. */
export const consoleFpsSuite: SuiteDefinition = {
  id: 'console-fps',
  title: 'Console frame rate, full-screen changes (TCG guest redrawing tty1, one viewer at a time)',
  unit: 'fps',
  better: 'higher',
  reference: DIRECT,
  target: 'Chromium console at least 0.9× the direct client’s frame rate',
  rounds: { full: 9, quick: 1 },
  async setup(context) {
    const bench = await prepareConsoleBench(context, FULL_SCREEN_LOOP);
    const windowMs = context.quick ? 2000 : 5000;
    const cpu = cpuWatch(bench);
    const clientFps = (open: (bench: ConsoleBench) => Promise<RfbClient>, label: string): Variant => ({
      label,
      async measure() {
        const client = await open(bench);
        try {
          await sleep(WARM_UP_MS);
          const [count, started] = [client.updates, performance.now()];
          const usage = await cpu.start();
          await sleep(windowMs);
          const fps = ((client.updates - count) * 1000) / (performance.now() - started);
          context.log(`${label}: ${fps.toFixed(1)} fps; CPU ${await usage()}`);
          return fps;
        } finally {
          client.close();
          await sleep(300);
        }
      },
    });
    const variants: Variant[] = [
      clientFps(openDirect, DIRECT),
      clientFps(openViaServe, VIA_SERVE),
      browserVariant(bench, async () => {
        const page = await openBrowserConsole(bench);
        try {
          await sleep(WARM_UP_MS);
          const read = () => page.evaluate(() => ({ draws: (window as unknown as { __vdBench: { draws: number } }).__vdBench.draws, at: performance.now() }));
          const before = await read();
          const usage = await cpu.start();
          await sleep(windowMs);
          const after = await read();
          const fps = ((after.draws - before.draws) * 1000) / (after.at - before.at);
          context.log(`${BROWSER}: ${fps.toFixed(1)} fps; CPU ${await usage()}`);
          return fps;
        } finally {
          await closeBrowserConsole(bench);
        }
      }),
    ];
    return { variants, dispose: () => bench.dispose() };
  },
  verdict: fpsVerdict,
};

/** Keys typed at tty1's shell: "a", then BackSpace, and so on, so the line never grows. */
const KEYS_PER_SAMPLE = { full: 15, quick: 3 };
/** A pause after each echo, like a person typing. */
const PAUSE_MS = 150;
/**
 * How long each key is held, the same for both viewers. It matters: QEMU refreshes the screen
 * early after input events, so a key released 1 ms after it was pressed (two events in one
 * write) shows later than one released a few ms later.
 */
const HOLD_MS = 40;

/** Keystroke (key event sent) to the screen change it causes (update received, or canvas redrawn). */
export const consoleKeysSuite: SuiteDefinition = {
  id: 'console-keys',
  title: 'Console keystroke-to-screen latency (typing at tty1, a 50 Hz counter on screen, one viewer at a time)',
  unit: 'ms',
  better: 'lower',
  reference: DIRECT,
  target: 'Chromium console at most 10 ms more than the direct client',
  rounds: { full: 7, quick: 1 },
  async setup(context) {
    const bench = await prepareConsoleBench(context, TICKER_LOOP);
    const keys = context.quick ? KEYS_PER_SAMPLE.quick : KEYS_PER_SAMPLE.full;
    const clientKeys = (open: (bench: ConsoleBench) => Promise<RfbClient>, label: string): Variant => ({
      label,
      async measure() {
        const client = await open(bench);
        try {
          const latencies: number[] = [];
          for (let k = 0; k < keys; k++) {
            await sleep(PAUSE_MS);
            const echoed = client.nextUpdate(10_000, (update) => update.rects.some((rect) => rect.y < ECHO_AREA_BOTTOM_PX));
            const key = k % 2 === 0 ? KEYSYM.a : KEYSYM.backSpace;
            const sent = performance.now();
            client.keyEvent(key, true);
            await sleep(HOLD_MS);
            client.keyEvent(key, false);
            latencies.push((await echoed).at - sent);
          }
          return median(latencies);
        } finally {
          client.close();
          await sleep(300);
        }
      },
    });
    const variants: Variant[] = [
      clientKeys(openDirect, DIRECT),
      clientKeys(openViaServe, VIA_SERVE),
      browserVariant(bench, async () => {
        const page = await openBrowserConsole(bench);
        try {
          // Keyboard focus on noVNC's canvas, as a click on the screen gives it.
          await page.evaluate((id) => document.querySelector<HTMLCanvasElement>(`[data-testid="console-screen-${id}"] canvas`)?.focus(), bench.vmId);
          const latencies: number[] = [];
          for (let k = 0; k < keys; k++) {
            await sleep(PAUSE_MS);
            await page.evaluate((echoAreaBottom) => {
              const bench = (window as unknown as { __vdBench: { armed: boolean; keyAt?: number; drawAfterKey?: number; echoAreaBottom: number } }).__vdBench;
              bench.keyAt = undefined;
              bench.drawAfterKey = undefined;
              bench.echoAreaBottom = echoAreaBottom;
              bench.armed = true;
            }, ECHO_AREA_BOTTOM_PX);
            const key = k % 2 === 0 ? 'a' : 'Backspace';
            await page.keyboard.down(key);
            await sleep(HOLD_MS);
            await page.keyboard.up(key);
            const latency = await page.waitForFunction(
              () => {
                const bench = (window as unknown as { __vdBench: { keyAt?: number; drawAfterKey?: number } }).__vdBench;
                return bench.keyAt !== undefined && bench.drawAfterKey !== undefined ? bench.drawAfterKey - bench.keyAt : undefined;
              },
              undefined,
              { timeout: 10_000 },
            );
            latencies.push((await latency.jsonValue()) as number);
          }
          return median(latencies);
        } finally {
          await closeBrowserConsole(bench);
        }
      }),
    ];
    return { variants, dispose: () => bench.dispose() };
  },
  verdict: keysVerdict,
};

function fpsVerdict(variants: VariantResult[]): string | undefined {
  const ofMedians = variants.find((variant) => variant.label === BROWSER)?.ratioToReference;
  const paired = pairedMedian(variants, BROWSER, DIRECT, ratio);
  const viaServe = pairedMedian(variants, VIA_SERVE, DIRECT, ratio);
  if (ofMedians === undefined || paired === undefined) return undefined;
  const serve = viaServe === undefined ? '' : `; the Node client through serve ${viaServe.toFixed(2)}×`;
  return `${paired >= 0.9 ? 'MET' : 'NOT MET'}: Chromium reaches ${paired.toFixed(2)}× the direct client's frame rate, median of per-round ratios (${ofMedians.toFixed(2)}× as a ratio of medians; target ≥ 0.90×)${serve}`;
}

function keysVerdict(variants: VariantResult[]): string | undefined {
  const paired = pairedMedian(variants, BROWSER, DIRECT, difference);
  const viaServe = pairedMedian(variants, VIA_SERVE, DIRECT, difference);
  if (paired === undefined) return undefined;
  const serve = viaServe === undefined ? '' : `; the Node client through serve adds ${viaServe.toFixed(1)} ms`;
  return `${paired <= 10 ? 'MET' : 'NOT MET'}: Chromium adds ${paired.toFixed(1)} ms, median of per-round differences (target ≤ 10 ms)${serve}`;
}
