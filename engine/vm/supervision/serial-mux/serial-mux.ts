import { createServer, connect, type Server, type Socket } from 'node:net';
import { EngineError } from '../../../api/errors';
import { MAX_SOCKET_PATH_BYTES } from '../../runtime/paths';
import { OutputHistory, readFileTail } from './output-history';
import { claimSocketPath, inodeOf, unlinkIfSame } from './socket-file';

export interface SerialMuxOptions {
  /** QEMU's serial chardev socket (server=on: it serves one client at a time). */
  upstreamPath: string;
  /** Where viewers connect; any number at once. */
  listenPath: string;
  /** QEMU's `logfile=` of the same chardev: seeds the history so a mux started late still has context. */
  logPath?: string;
  /** How much recent output a new viewer receives first. Default 4 KiB; 0 turns it off. */
  historyBytes?: number;
  /** Output queued for one viewer beyond this drops that viewer. Default 256 KiB. */
  maxClientBufferBytes?: number;
  /** Budget for reaching the upstream socket. Default 2 s. */
  connectTimeoutMs?: number;
  /** Things worth a line in the host's log (a viewer dropped). */
  onNote?: (message: string) => void;
}

export type SerialMuxEnd = 'upstream-closed' | 'closed';

export const DEFAULT_HISTORY_BYTES = 4096;
export const DEFAULT_MAX_CLIENT_BUFFER_BYTES = 256 * 1024;

const DROP_NOTE = Buffer.from('\r\n[virtdesk: this console fell too far behind the guest output and was disconnected; reconnect to continue]\r\n');

interface Client {
  socket: Socket;
  id: number;
}

function connectUpstream(path: string, timeoutMs: number): Promise<Socket> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const socket = connect(path);
      const onError = (error: NodeJS.ErrnoException) => {
        socket.destroy();
        // EAGAIN: QEMU's backlog is full (a direct viewer holds it and another waits); retry a while.
        if ((error.code === 'EAGAIN' || error.code === 'ENOENT') && Date.now() < deadline) {
          setTimeout(attempt, 100);
          return;
        }
        reject(new EngineError('unavailable', `Cannot reach the serial console socket ${path}: ${error.message}`));
      };
      socket.once('error', onError);
      socket.once('connect', () => {
        socket.off('error', onError);
        resolve(socket);
      });
    };
    attempt();
  });
}

/**
 * Shares one VM's serial console among many viewers. QEMU's socket chardev serves a single
 * client (a second waits in the backlog), so the VM's supervisor holds that one connection and
 * re-serves it on `listenPath`: guest output goes to every viewer, any viewer's input goes to the
 * guest. Upstream is always read at once, whatever the viewers do: a viewer that falls more than
 * `maxClientBufferBytes` behind is dropped, so it can stall neither the others nor the guest's UART.
 */
export class SerialMux {
  readonly #options: SerialMuxOptions;
  readonly #upstream: Socket;
  readonly #server: Server;
  readonly #history: OutputHistory;
  readonly #clients = new Set<Client>();
  /** Viewers whose input waits for upstream to drain. */
  readonly #pausedInput = new Set<Socket>();
  readonly #maxBuffer: number;
  #ino: number | undefined;
  #nextId = 1;
  #ended: SerialMuxEnd | undefined;
  readonly #closed: Promise<SerialMuxEnd>;
  #resolveClosed!: (end: SerialMuxEnd) => void;

  private constructor(options: SerialMuxOptions, upstream: Socket, server: Server, history: OutputHistory) {
    this.#options = options;
    this.#upstream = upstream;
    this.#server = server;
    this.#history = history;
    this.#maxBuffer = options.maxClientBufferBytes ?? DEFAULT_MAX_CLIENT_BUFFER_BYTES;
    this.#closed = new Promise((resolve) => (this.#resolveClosed = resolve));
  }

  /** Connects upstream, then listens (removing a stale socket file first). */
  static async open(options: SerialMuxOptions): Promise<SerialMux> {
    if (Buffer.byteLength(options.listenPath) > MAX_SOCKET_PATH_BYTES) {
      throw new EngineError('invalid-argument', `The serial console socket path ${options.listenPath} is longer than the ${MAX_SOCKET_PATH_BYTES} bytes a unix socket allows.`);
    }
    const history = new OutputHistory(options.historyBytes ?? DEFAULT_HISTORY_BYTES);
    // Read before connecting: output from here on arrives on the socket, so nothing is doubled.
    const historyBytes = options.historyBytes ?? DEFAULT_HISTORY_BYTES;
    if (options.logPath && historyBytes > 0) {
      const { tail, truncated } = await readFileTail(options.logPath, historyBytes);
      history.seed(tail, truncated);
    }
    await claimSocketPath(options.listenPath);
    const upstream = await connectUpstream(options.upstreamPath, options.connectTimeoutMs ?? 2000);
    const server = createServer({ pauseOnConnect: false });
    const mux = new SerialMux(options, upstream, server, history);
    mux.#wireUpstream();
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(options.listenPath, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (error) {
      upstream.destroy();
      const code = (error as NodeJS.ErrnoException).code;
      throw new EngineError(code === 'EADDRINUSE' ? 'conflict' : 'unavailable', `Cannot listen on ${options.listenPath}: ${(error as Error).message}`);
    }
    mux.#ino = await inodeOf(options.listenPath);
    server.on('connection', (socket) => mux.#accept(socket));
    server.on('error', (error) => mux.#note(`listener error: ${error.message}`));
    return mux;
  }

  get listenPath(): string {
    return this.#options.listenPath;
  }

  get clientCount(): number {
    return this.#clients.size;
  }

  /** Resolves once the mux has shut down: upstream went away, or close() was called. */
  get closed(): Promise<SerialMuxEnd> {
    return this.#closed;
  }

  /** Closes every viewer, the listener (removing its socket file) and the upstream connection. */
  async close(): Promise<void> {
    await this.#shutdown('closed');
  }

  #note(message: string): void {
    this.#options.onNote?.(message);
  }

  #wireUpstream(): void {
    const upstream = this.#upstream;
    upstream.setNoDelay?.(true);
    upstream.on('data', (chunk: Buffer) => {
      this.#history.push(chunk);
      for (const client of this.#clients) this.#send(client, chunk);
    });
    upstream.on('drain', () => {
      for (const socket of this.#pausedInput) socket.resume();
      this.#pausedInput.clear();
    });
    upstream.on('error', () => undefined);
    upstream.on('close', () => void this.#shutdown('upstream-closed'));
  }

  #accept(socket: Socket): void {
    if (this.#ended) {
      socket.destroy();
      return;
    }
    const client: Client = { socket, id: this.#nextId++ };
    this.#clients.add(client);
    socket.on('error', () => this.#remove(client));
    socket.on('close', () => this.#remove(client));
    socket.on('data', (bytes: Buffer) => {
      if (this.#ended || !this.#clients.has(client)) return;
      if (!this.#upstream.write(bytes)) {
        socket.pause();
        this.#pausedInput.add(socket);
      }
    });
    // Same tick as joining the broadcast set: the replay and the live stream meet exactly.
    const history = this.#history.snapshot();
    if (history.length > 0) this.#send(client, history);
  }

  #send(client: Client, chunk: Buffer): void {
    const socket = client.socket;
    if (socket.destroyed) return;
    socket.write(chunk);
    if (socket.writableLength > this.#maxBuffer) this.#drop(client);
  }

  #drop(client: Client): void {
    this.#remove(client);
    this.#note(`dropped serial console viewer #${client.id}: it fell more than ${Math.round(this.#maxBuffer / 1024)} KiB behind the guest's output`);
    const socket = client.socket;
    // The note queues behind what it has not read; give it a moment, then let it go regardless.
    socket.end(DROP_NOTE);
    setTimeout(() => socket.destroy(), 1000).unref();
  }

  #remove(client: Client): void {
    this.#clients.delete(client);
    this.#pausedInput.delete(client.socket);
  }

  async #shutdown(end: SerialMuxEnd): Promise<void> {
    if (this.#ended) return this.#closed.then(() => undefined);
    this.#ended = end;
    // end(), not destroy(): a viewer still gets the guest's last words (e.g. "reboot: Power down").
    for (const client of this.#clients) {
      client.socket.end();
      setTimeout(() => client.socket.destroy(), 1000).unref();
    }
    this.#clients.clear();
    this.#pausedInput.clear();
    this.#upstream.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    await unlinkIfSame(this.#options.listenPath, this.#ino);
    this.#resolveClosed(end);
  }
}
