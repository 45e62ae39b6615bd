import type { Terminal } from '@xterm/xterm';
import type { VmStateName } from '../../../../engine/api/vm-api';
import type { VirtdeskClient } from '../api/client';
import { openConsoleChannel, type ConsoleStream } from '../console/channel';
import { loadXterm } from '../console/load-xterm';
import type { ConsoleStatus } from './console.svelte';
import { describeError } from './images.svelte';

const encoder = new TextEncoder();

/**
 * One VM's serial console in xterm.js: bytes from the guest's ttyS0 to the terminal and keys back,
 * over the same kind of stream as VNC; reconnects when the VM runs again.
 */
export class SerialSession {
  status = $state<ConsoleStatus>('idle');
  reason = $state<string | undefined>();
  readonly #client: VirtdeskClient;
  readonly #vmId: string;
  #terminal: Terminal | undefined;
  #stream: ConsoleStream | undefined;
  #generation = 0;
  #vmState: VmStateName | undefined;
  #disposed = false;
  /** Consecutive short-lived streams; reconnecting stops after a few. */
  #failures = 0;
  readonly #unsubscribe: () => void;

  constructor(client: VirtdeskClient, vmId: string) {
    this.#client = client;
    this.#vmId = vmId;
    this.#unsubscribe = client.on('vm.state', (event) => {
      if (event.id !== this.#vmId) return;
      this.#vmState = event.state;
      if (event.state === 'running' && this.status === 'disconnected') {
        this.#failures = 0;
        void this.connect();
      }
    });
  }

  /** The terminal, once attached (tests read its buffer). */
  get terminal(): Terminal | undefined {
    return this.#terminal;
  }

  async attach(element: HTMLElement, size: { cols: number; rows: number }): Promise<void> {
    const Xterm = await loadXterm();
    if (this.#disposed) return;
    const terminal = new Xterm({
      cols: size.cols,
      rows: size.rows,
      convertEol: false,
      cursorBlink: true,
      fontFamily: 'ui-monospace, "DejaVu Sans Mono", monospace',
      fontSize: 14,
      // Room below the baseline, or underscores are clipped away.
      lineHeight: 1.15,
      scrollback: 5000,
      theme: { background: '#15161a', foreground: '#e6e6e6' },
    });
    terminal.open(element);
    terminal.onData((data) => this.#stream?.channel.send(encoder.encode(data)));
    // The guest asks where the cursor is (ESC[6n) with every prompt; xterm answers through onData.
    this.#terminal = terminal;
    try {
      const details = await this.#client.api.vms.get({ id: this.#vmId });
      this.#vmState = details.runtime.state;
      if (!details.definition.serial) {
        this.status = 'disconnected';
        this.reason = 'This VM has no serial console. Turn it on in its hardware and restart the VM.';
        return;
      }
    } catch (error) {
      this.status = 'disconnected';
      this.reason = describeError(error);
      return;
    }
    if (this.#vmState === 'running' || this.#vmState === 'paused') await this.connect();
    else {
      this.status = 'disconnected';
      this.reason = 'The VM is not running. The serial console connects when it runs.';
    }
  }

  resize(size: { cols: number; rows: number }): void {
    this.#terminal?.resize(size.cols, size.rows);
  }

  focus(): void {
    this.#terminal?.focus();
  }

  async connect(): Promise<void> {
    const terminal = this.#terminal;
    if (!terminal || this.#disposed) return;
    const generation = ++this.#generation;
    this.#stream?.channel.close();
    this.status = 'connecting';
    this.reason = undefined;
    let stream: ConsoleStream;
    try {
      stream = await openConsoleChannel(this.#client, this.#vmId, 'serial');
    } catch (error) {
      if (generation === this.#generation) {
        this.status = 'disconnected';
        this.reason = describeError(error);
      }
      return;
    }
    if (generation !== this.#generation || this.#disposed) {
      stream.channel.close();
      return;
    }
    this.#stream = stream;
    const startedAt = Date.now();
    const channel = stream.channel;
    channel.binaryType = 'arraybuffer';
    const opened = () => {
      if (generation !== this.#generation) return;
      this.status = 'connected';
      terminal.focus();
    };
    if (channel.readyState === 'open' || channel.readyState === 1) opened();
    else channel.onopen = opened;
    channel.onmessage = (event) => terminal.write(new Uint8Array(event.data));
    void stream.closed.then((info) => {
      if (generation !== this.#generation) return;
      this.#stream = undefined;
      this.status = 'disconnected';
      this.reason = `${info.reason}. It reconnects when the VM runs again.`;
      terminal.write(`\r\n\x1b[2m[${info.reason}]\x1b[0m\r\n`);
      this.#failures = Date.now() - startedAt > 5000 ? 0 : this.#failures + 1;
      if (this.#vmState === 'running' && this.#failures <= 3) setTimeout(() => void this.#reconnectIfRunning(generation), 1000 * this.#failures || 500);
    });
  }

  async #reconnectIfRunning(generation: number): Promise<void> {
    if (generation !== this.#generation || this.#disposed) return;
    try {
      this.#vmState = (await this.#client.api.vms.get({ id: this.#vmId })).runtime.state;
    } catch {
      return;
    }
    if (this.#vmState === 'running' && generation === this.#generation) await this.connect();
  }

  dispose(): void {
    this.#disposed = true;
    this.#generation++;
    this.#unsubscribe();
    this.#stream?.channel.close();
    this.#terminal?.dispose();
    this.#terminal = undefined;
  }
}
