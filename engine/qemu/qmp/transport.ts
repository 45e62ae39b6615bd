import { createConnection, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { EngineError } from '../../api/errors';

/** A QMP reply larger than this without a newline means the peer is not speaking QMP. */
const MAX_LINE_BYTES = 64 * 1024 * 1024;
const NEWLINE = 0x0a;
const RETRY_INTERVAL_MS = 25;

export type JsonObject = Record<string, unknown>;

export interface ConnectOptions {
  /** Give up after this long, including retries. */
  timeoutMs: number;
  /** Keep retrying while the socket file is missing or nobody listens yet (QEMU still starting). */
  waitForSocket?: boolean;
  /** Aborting stops the attempt; an Error reason is thrown as is (e.g. "QEMU exited: ..."). */
  signal?: AbortSignal;
}

export interface TransportHandlers {
  message(message: JsonObject): void;
  /** A line that is not a JSON object. The stream continues with the next line. */
  invalidLine(line: string, error: Error): void;
  /** Called once. `error` is set when the socket failed rather than ended. */
  close(error: Error | undefined): void;
}

/**
 * Newline-delimited JSON over a unix socket. Reads are split on newline bytes (not characters),
 * so partial lines, multi-byte UTF-8 split across chunks and many messages in one chunk all work.
 */
export class JsonLineTransport {
  private readonly socket: Socket;
  private handlers: TransportHandlers | undefined;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private isClosed = false;
  /** Set when we close or destroy: lines still buffered are no longer delivered. */
  private stopped = false;
  private closeError: Error | undefined;
  private readonly closedPromise: Promise<void>;
  private resolveClosed!: () => void;

  constructor(socket: Socket) {
    this.socket = socket;
    this.closedPromise = new Promise((resolve) => (this.resolveClosed = resolve));
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (error) => {
      this.closeError ??= error;
    });
    socket.on('close', () => this.onClose());
  }

  static async connect(path: string, options: ConnectOptions): Promise<JsonLineTransport> {
    const deadline = Date.now() + options.timeoutMs;
    for (;;) {
      throwIfAborted(options.signal);
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw connectTimeout(path, options.timeoutMs);
      try {
        return new JsonLineTransport(await connectOnce(path, remaining, options));
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        const retryable = code === 'ENOENT' || code === 'ECONNREFUSED';
        if (!(options.waitForSocket && retryable)) throw connectError(path, options.timeoutMs, error);
        if (deadline - Date.now() <= RETRY_INTERVAL_MS) throw connectTimeout(path, options.timeoutMs);
        try {
          await sleep(RETRY_INTERVAL_MS, undefined, options.signal ? { signal: options.signal } : {});
        } catch {
          throwIfAborted(options.signal);
        }
      }
    }
  }

  /** Handlers are set once; lines that arrived before are delivered then. */
  attach(handlers: TransportHandlers): void {
    if (this.handlers) throw new Error('JsonLineTransport handlers are already attached');
    this.handlers = handlers;
    if (this.pending.length > 0) this.drainLines();
    if (this.isClosed) handlers.close(this.closeError);
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Resolves once the socket has closed, for whatever reason. */
  whenClosed(): Promise<void> {
    return this.closedPromise;
  }

  send(message: JsonObject): void {
    if (this.isClosed || this.socket.destroyed) throw new Error('the QMP socket is closed');
    // net.Socket queues writes itself; QMP commands are small, so no drain wait is needed.
    this.socket.write(`${JSON.stringify(message)}\n`);
  }

  /** Ends our side and waits for the close; destroys the socket if the peer does not follow. */
  async close(timeoutMs = 1000): Promise<void> {
    if (this.isClosed) return;
    this.stopped = true;
    this.socket.end();
    const timer = setTimeout(() => this.socket.destroy(), timeoutMs);
    await this.closedPromise;
    clearTimeout(timer);
  }

  destroy(): void {
    this.stopped = true;
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.handlers) this.drainLines();
    if (this.pendingBytes > MAX_LINE_BYTES) {
      this.closeError = new Error(`a QMP message exceeded ${MAX_LINE_BYTES} bytes without a newline`);
      this.socket.destroy();
    }
  }

  private drainLines(): void {
    if (this.pending.length === 0 || this.stopped) return;
    let data = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    let newline = data.indexOf(NEWLINE);
    while (newline !== -1) {
      const line = data.subarray(0, newline).toString('utf8').trim();
      data = data.subarray(newline + 1);
      if (line.length > 0) this.deliver(line);
      // A handler may have closed us; stop handing out lines nobody will act on.
      if (this.stopped) return;
      newline = data.indexOf(NEWLINE);
    }
    if (data.length > 0) {
      // Copy so the remainder does not pin the whole (possibly large) chunk it came from.
      this.pending.push(Buffer.from(data));
      this.pendingBytes = data.length;
    }
  }

  private deliver(line: string): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch (error) {
      this.handlers!.invalidLine(line, error as Error);
      return;
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      this.handlers!.invalidLine(line, new Error('not a JSON object'));
      return;
    }
    this.handlers!.message(parsed as JsonObject);
  }

  private onClose(): void {
    if (this.isClosed) return;
    // Whatever complete lines are left still count (e.g. a reply written just before exit).
    if (this.handlers) this.drainLines();
    this.isClosed = true;
    this.resolveClosed();
    this.handlers?.close(this.closeError);
  }
}

function connectOnce(path: string, timeoutMs: number, options: ConnectOptions): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ path });
    const finish = (error: Error | undefined) => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      socket.off('connect', onConnect);
      socket.off('error', onError);
      if (error) {
        socket.destroy();
        reject(error);
      } else {
        resolve(socket);
      }
    };
    const onConnect = () => finish(undefined);
    const onError = (error: Error) => finish(error);
    const onAbort = () => finish(abortReason(options.signal!));
    const timer = setTimeout(() => finish(Object.assign(new Error('connect timed out'), { code: 'ETIMEDOUT' })), timeoutMs);
    socket.once('connect', onConnect);
    socket.once('error', onError);
    options.signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortReason(signal);
}

function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error && reason.name !== 'AbortError') return reason;
  return new EngineError('cancelled', 'Connecting to QMP was cancelled');
}

function connectTimeout(path: string, timeoutMs: number): EngineError {
  return new EngineError('timeout', `Could not connect to the QMP socket ${path} within ${timeoutMs} ms`, {
    details: { path, timeoutMs },
  });
}

function connectError(path: string, timeoutMs: number, error: unknown): Error {
  if (error instanceof EngineError) return error;
  const code = (error as NodeJS.ErrnoException).code;
  const reason = error instanceof Error ? error.message : String(error);
  switch (code) {
    case 'ETIMEDOUT':
      return connectTimeout(path, timeoutMs);
    case 'ENOENT':
      return new EngineError('unavailable', `The QMP socket ${path} does not exist`, { details: { path }, cause: error });
    case 'ECONNREFUSED':
      return new EngineError('unavailable', `Nothing is listening on the QMP socket ${path}`, { details: { path }, cause: error });
    case 'EACCES':
    case 'EPERM':
      return new EngineError('permission-denied', `No permission to open the QMP socket ${path}`, { details: { path }, cause: error });
    default:
      return new EngineError('unavailable', `Could not connect to the QMP socket ${path}: ${reason}`, { details: { path }, cause: error });
  }
}
