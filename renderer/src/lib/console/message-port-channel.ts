/** The WebSocket-like object noVNC and xterm use (the shape of noVNC's RfbChannel, without importing noVNC). */
export interface ConsoleChannel {
  binaryType: string;
  protocol: string;
  readyState: string | number;
  send(data: ArrayBuffer | Uint8Array): void;
  close(): void;
  onopen: ((event: Event) => void) | null;
  onmessage: ((event: { data: ArrayBuffer }) => void) | null;
  onerror: ((event: Event) => void) | null;
  onclose: ((event: CloseInfo) => void) | null;
}

/** The part of a MessagePort the channel uses (a DOM MessagePort under Electron; a fake in tests). */
export interface PortLike {
  postMessage(message: unknown): void;
  close(): void;
  onmessage: ((event: { data: unknown }) => void) | null;
  addEventListener?(type: 'close', listener: () => void): void;
}

export interface CloseInfo {
  code: number;
  reason: string;
  wasClean: boolean;
}

function toArrayBuffer(data: unknown): ArrayBuffer | undefined {
  if (data instanceof ArrayBuffer) return data;
  if (ArrayBuffer.isView(data)) return data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer;
  return undefined;
}

/**
 * A WebSocket-like channel over a MessagePort, for noVNC (`new RFB(el, channel)`) and xterm.
 * noVNC's contract (ENVIRONMENT.md): the keys send close binaryType onerror onmessage onopen
 * protocol readyState are own properties; QEMU speaks first, so bytes that arrive before
 * `onmessage` is set are kept and replayed in a microtask; `send()` gets a view into a buffer
 * noVNC reuses, so the bytes are copied; `onclose` fires after `close()`.
 */
export function messagePortChannel(port: PortLike): ConsoleChannel & { readonly closed: Promise<CloseInfo> } {
  const early: ArrayBuffer[] = [];
  let handler: ((event: { data: ArrayBuffer }) => void) | null = null;
  let replayScheduled = false;
  let resolveClosed!: (info: CloseInfo) => void;
  const closed = new Promise<CloseInfo>((resolve) => (resolveClosed = resolve));

  const replay = () => {
    replayScheduled = false;
    while (handler && early.length > 0) handler({ data: early.shift()! });
  };

  const finish = (info: CloseInfo) => {
    if (channel.readyState === 'closed') return;
    channel.readyState = 'closed';
    resolveClosed(info);
    // Asynchronously, as a WebSocket does: the caller's close() returns first.
    queueMicrotask(() => channel.onclose?.(info));
  };

  const channel = {
    binaryType: 'arraybuffer',
    protocol: '',
    readyState: 'open' as string | number,
    onopen: null as ConsoleChannel['onopen'],
    onerror: null as ConsoleChannel['onerror'],
    onclose: null as ConsoleChannel['onclose'],
    get onmessage() {
      return handler;
    },
    set onmessage(value: ((event: { data: ArrayBuffer }) => void) | null) {
      handler = value;
      if (handler && early.length > 0 && !replayScheduled) {
        replayScheduled = true;
        queueMicrotask(replay);
      }
    },
    send(data: ArrayBuffer | Uint8Array) {
      if (channel.readyState !== 'open') return;
      // A copy: noVNC reuses the buffer behind the view it passes.
      port.postMessage(data instanceof ArrayBuffer ? new Uint8Array(data.slice(0)) : new Uint8Array(data));
    },
    close() {
      if (channel.readyState === 'closed') return;
      port.close();
      finish({ code: 1000, reason: '', wasClean: true });
    },
    closed,
  };

  port.onmessage = (event) => {
    const bytes = toArrayBuffer(event.data);
    if (!bytes || channel.readyState === 'closed') return;
    // Keep order: while earlier bytes wait for replay, new ones queue behind them.
    if (handler && early.length === 0) handler({ data: bytes });
    else early.push(bytes);
  };
  port.addEventListener?.('close', () => finish({ code: 1006, reason: 'The console stream ended', wasClean: false }));
  return channel;
}
