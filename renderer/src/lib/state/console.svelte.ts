import type RFB from '@novnc/novnc';
import type { Preferences } from '../../../../engine/api/preferences-api';
import type { VmStateName } from '../../../../engine/api/vm-api';
import type { VirtdeskClient } from '../api/client';
import { openConsoleChannel, type ConsoleStream } from '../console/channel';
import { keyForChar, KEYSYM_SHIFT_L, MAX_PASTE_CHARS } from '../console/keys';
import { loadRfb } from '../console/load-rfb';
import { describeError } from './images.svelte';

export type ConsoleStatus = 'idle' | 'connecting' | 'connected' | 'disconnected';
export type ConsoleScaling = Preferences['consoleScaling'];

/** Pause between typed keys: the guest's keyboard buffer is small (PS/2 holds 16 bytes). */
const TYPE_DELAY_MS = 12;
const RETRY_DELAYS_MS = [500, 1000, 2000, 4000];
/** A console that has not shown a screen by then is treated as lost (and retried). */
const CONNECT_TIMEOUT_MS = 20_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * One VM's graphical console: a noVNC client on the stream `openConsoleChannel` gives, its status
 * with the reason when it is down, scaling, keyboard focus (the grab), and reconnection when the
 * VM comes back (`vm.state` → running) or the stream drops while the VM still runs.
 */
export class VncSession {
  status = $state<ConsoleStatus>('idle');
  /** Why the console is not connected (or what it is doing), for a person. */
  reason = $state<string | undefined>();
  vmState = $state<VmStateName | undefined>();
  vmName = $state<string | undefined>();
  scaling = $state<ConsoleScaling>('fit');
  /** The guest gets the keyboard (the canvas has focus). */
  grabbed = $state(false);
  /** Set after a send-keys, paste or screenshot failed, in the engine's words. */
  actionError = $state<string | undefined>();
  readonly #client: VirtdeskClient;
  readonly #vmId: string;
  #target: HTMLElement | undefined;
  #rfb: RFB | undefined;
  #stream: ConsoleStream | undefined;
  #generation = 0;
  #retries = 0;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #disposed = false;
  readonly #unsubscribe: () => void;

  constructor(client: VirtdeskClient, vmId: string) {
    this.#client = client;
    this.#vmId = vmId;
    this.#unsubscribe = client.on('vm.state', (event) => {
      if (event.id !== this.#vmId) return;
      this.vmState = event.state;
      if (event.state === 'running' && this.status !== 'connected' && this.status !== 'connecting') {
        this.#retries = 0;
        void this.connect();
      } else if (event.state !== 'running' && event.state !== 'paused' && event.state !== 'starting') {
        this.#clearRetry();
        if (this.status !== 'connected') {
          this.status = 'disconnected';
          this.reason = this.#notRunningText(event.state, event.stateReason);
        }
      }
    });
  }

  get vmId(): string {
    return this.#vmId;
  }

  /** The noVNC client while connected (tests and screenshots read its canvas). */
  get rfb(): RFB | undefined {
    return this.#rfb;
  }

  /** Attaches to the element the screen goes in, learns the VM's state and the preferred scaling, and connects when the VM runs. */
  async attach(target: HTMLElement): Promise<void> {
    this.#target = target;
    try {
      const [details, preferences] = await Promise.all([this.#client.api.vms.get({ id: this.#vmId }), this.#client.api.preferences.get({})]);
      this.vmName = details.definition.name;
      this.vmState = details.runtime.state;
      this.scaling = preferences.consoleScaling;
      if (!details.definition.display.vnc) {
        this.status = 'disconnected';
        this.reason = 'This VM has no graphical display (it was created headless). Use the serial console.';
        return;
      }
      if (details.runtime.state === 'running' || details.runtime.state === 'paused') await this.connect();
      else {
        this.status = 'disconnected';
        this.reason = this.#notRunningText(details.runtime.state, details.runtime.stateReason);
      }
    } catch (error) {
      this.status = 'disconnected';
      this.reason = describeError(error);
    }
  }

  async connect(): Promise<void> {
    if (this.#disposed || !this.#target) return;
    this.#clearRetry();
    const generation = ++this.#generation;
    this.#teardown();
    this.status = 'connecting';
    this.reason = undefined;
    const watchdog = setTimeout(() => {
      if (generation === this.#generation && this.status === 'connecting') this.#lost(`The console did not answer within ${CONNECT_TIMEOUT_MS / 1000} s`);
    }, CONNECT_TIMEOUT_MS);
    let stream: ConsoleStream;
    let Rfb: typeof RFB;
    try {
      // noVNC first, then the stream: QEMU speaks first, and a WebSocket message that arrives before
      // noVNC has set onmessage is lost (the handshake then hangs). Once the stream exists, the
      // client is attached in the same task, before any of its events can fire.
      Rfb = await loadRfb();
      stream = await openConsoleChannel(this.#client, this.#vmId, 'vnc');
    } catch (error) {
      if (generation !== this.#generation) return;
      this.#lost(describeError(error));
      return;
    }
    if (generation !== this.#generation || this.#disposed || !this.#target) {
      stream.channel.close();
      return;
    }
    this.#stream = stream;
    const rfb = new Rfb(this.#target, stream.channel, { credentials: { password: stream.password ?? '' }, shared: true });
    this.#rfb = rfb;
    rfb.focusOnClick = true;
    rfb.background = 'transparent';
    this.#applyScaling(rfb);
    rfb.addEventListener('connect', () => {
      clearTimeout(watchdog);
      if (generation !== this.#generation) return;
      this.status = 'connected';
      this.reason = undefined;
      this.#retries = 0;
    });
    rfb.addEventListener('securityfailure', (event) => {
      if (generation !== this.#generation) return;
      const detail = (event as CustomEvent<{ reason?: string }>).detail;
      this.reason = `The VM refused the viewer: ${detail.reason ?? 'authentication failed'}.`;
    });
    rfb.addEventListener('disconnect', (event) => {
      if (generation !== this.#generation) return;
      this.#rfb = undefined;
      this.grabbed = false;
      const clean = (event as CustomEvent<{ clean: boolean }>).detail.clean;
      void stream.closed.then((info) => {
        if (generation !== this.#generation) return;
        this.#lost(this.reason ?? (clean ? info.reason : `The connection was lost (${info.reason})`));
      });
    });
  }

  /** Closes the viewer; nothing reconnects until `connect()`. */
  disconnect(): void {
    this.#generation++;
    this.#clearRetry();
    this.#teardown();
    this.status = 'disconnected';
    this.reason = 'Disconnected.';
  }

  dispose(): void {
    this.#disposed = true;
    this.#unsubscribe();
    this.disconnect();
  }

  setScaling(scaling: ConsoleScaling): void {
    this.scaling = scaling;
    if (this.#rfb) this.#applyScaling(this.#rfb);
  }

  focus(): void {
    this.#rfb?.focus();
  }

  async startVm(): Promise<void> {
    this.actionError = undefined;
    try {
      await this.#client.api.vms.start({ id: this.#vmId });
    } catch (error) {
      this.actionError = describeError(error);
    }
  }

  /** Presses a combination in the guest through QEMU (never through the host's own keyboard handling). */
  async sendKeys(keys: string[]): Promise<void> {
    this.actionError = undefined;
    try {
      await this.#client.api.vms.sendKeys({ id: this.#vmId, keys });
    } catch (error) {
      this.actionError = describeError(error);
    }
    this.focus();
  }

  /** Types text into the guest as key presses (US layout); returns how many characters were typed. */
  async typeText(text: string): Promise<number> {
    const rfb = this.#rfb;
    if (!rfb) {
      this.actionError = 'The console is not connected, so nothing can be typed into the guest.';
      return 0;
    }
    let typed = 0;
    for (const char of [...text.replace(/\r\n/g, '\n')].slice(0, MAX_PASTE_CHARS)) {
      const key = keyForChar(char);
      if (!key || this.#rfb !== rfb) continue;
      if (key.shift) rfb.sendKey(KEYSYM_SHIFT_L, 'ShiftLeft', true);
      rfb.sendKey(key.keysym, key.code, true);
      rfb.sendKey(key.keysym, key.code, false);
      if (key.shift) rfb.sendKey(KEYSYM_SHIFT_L, 'ShiftLeft', false);
      typed++;
      await sleep(TYPE_DELAY_MS);
    }
    if (text.length > MAX_PASTE_CHARS) this.actionError = `Only the first ${MAX_PASTE_CHARS} characters were typed.`;
    return typed;
  }

  /** Types the host clipboard into the guest. */
  async pasteClipboard(): Promise<void> {
    this.actionError = undefined;
    let text: string;
    try {
      text = await navigator.clipboard.readText();
    } catch {
      this.actionError = 'The browser did not allow reading the clipboard. Allow clipboard access for this page, or type the text instead.';
      return;
    }
    await this.typeText(text);
    this.focus();
  }

  /** The guest's screen as a PNG: QEMU's own screendump, else what the canvas shows. */
  async screenshot(): Promise<Blob | undefined> {
    this.actionError = undefined;
    try {
      const { pngBase64 } = await this.#client.api.vms.screenshot({ id: this.#vmId });
      const bytes = Uint8Array.from(atob(pngBase64), (c) => c.charCodeAt(0));
      return new Blob([bytes], { type: 'image/png' });
    } catch (error) {
      const rfb = this.#rfb;
      if (rfb) return new Promise((resolve) => rfb.toBlob((blob) => resolve(blob ?? undefined), 'image/png'));
      this.actionError = describeError(error);
      return undefined;
    }
  }

  #applyScaling(rfb: RFB): void {
    rfb.clipViewport = false;
    rfb.scaleViewport = this.scaling !== 'actual';
    rfb.resizeSession = this.scaling === 'resize-guest';
  }

  /** The stream ended by itself: retry while the VM runs, else wait for it to run again. */
  #lost(reason: string): void {
    // Whatever the torn-down client still reports belongs to this generation, which ends here.
    this.#generation++;
    this.#teardown();
    this.status = 'disconnected';
    if (this.#disposed) return;
    const delay = RETRY_DELAYS_MS[this.#retries];
    if ((this.vmState === 'running' || this.vmState === 'paused') && delay !== undefined) {
      this.#retries++;
      this.reason = `${reason}. Reconnecting…`;
      this.#retryTimer = setTimeout(() => void this.#refreshAndReconnect(), delay);
    } else {
      this.reason = this.vmState === 'running' || this.vmState === 'paused' ? reason : this.#notRunningText(this.vmState, null);
    }
  }

  async #refreshAndReconnect(): Promise<void> {
    try {
      const details = await this.#client.api.vms.get({ id: this.#vmId });
      this.vmState = details.runtime.state;
    } catch {
      // Keep the last known state.
    }
    if (this.vmState === 'running' || this.vmState === 'paused') await this.connect();
    else this.reason = this.#notRunningText(this.vmState, null);
  }

  #notRunningText(state: VmStateName | undefined, why: string | null): string {
    const base = state === 'crashed' ? 'The VM crashed' : state === 'shutting-down' ? 'The VM is shutting down' : 'The VM is not running';
    return `${base}${why ? `: ${why}` : ''}. The console connects by itself when it runs again.`;
  }

  #teardown(): void {
    const rfb = this.#rfb;
    this.#rfb = undefined;
    this.grabbed = false;
    if (rfb) {
      try {
        rfb.disconnect();
      } catch {
        // Already gone.
      }
    }
    this.#stream?.channel.close();
    this.#stream = undefined;
  }

  #clearRetry(): void {
    if (this.#retryTimer !== undefined) clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
  }
}
