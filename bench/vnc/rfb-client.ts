import { createConnection } from 'node:net';
import type { Duplex } from 'node:stream';
import { RFB_ENCODINGS, RfbMessageParser, type FramebufferUpdate, type ServerEvent } from './rfb-parser';
import { vncAuthResponse } from './vnc-auth';

export interface RfbConnectOptions {
  /** For VNC authentication (security type 2); Virtdesk's QEMUs always ask for one. */
  password?: string;
  timeoutMs?: number;
}

/** noVNC's SetPixelFormat: 32 bpp, depth 24, little-endian, true colour, 8 bits each, red at bit 0. */
function pixelFormatMessage(): Buffer {
  const message = Buffer.alloc(20);
  message.writeUInt8(0, 0);
  message.writeUInt8(32, 4);
  message.writeUInt8(24, 5);
  message.writeUInt8(0, 6); // little-endian
  message.writeUInt8(1, 7); // true colour
  message.writeUInt16BE(255, 8);
  message.writeUInt16BE(255, 10);
  message.writeUInt16BE(255, 12);
  message.writeUInt8(0, 14);
  message.writeUInt8(8, 15);
  message.writeUInt8(16, 16);
  return message;
}

function setEncodingsMessage(encodings: readonly number[]): Buffer {
  const message = Buffer.alloc(4 + 4 * encodings.length);
  message.writeUInt8(2, 0);
  message.writeUInt16BE(encodings.length, 2);
  encodings.forEach((encoding, i) => message.writeInt32BE(encoding, 4 + 4 * i));
  return message;
}

/**
 * A VNC client that decodes nothing: it negotiates what noVNC negotiates, asks
 * for updates the way a viewer does, and reports every FramebufferUpdate with its arrival time.
 * The reference that Virtdesk's console in Chromium is compared with.
 */
export class RfbClient {
  #parser!: RfbMessageParser;
  readonly #listeners = new Set<(update: FramebufferUpdate) => void>();
  #streaming = false;
  #closed = false;
  #error: Error | undefined;
  updates = 0;

  private constructor(private readonly socket: Duplex) {}

  get width(): number {
    return this.#parser.width;
  }

  get height(): number {
    return this.#parser.height;
  }

  /**
   * Connects (to a unix socket path, or over an already open byte stream such as a WebSocket's)
   * and completes the handshake: version 3.8, security, ClientInit (shared), ServerInit, pixel
   * format, encodings.
   */
  static connect(target: string | { stream: Duplex; name: string }, options: RfbConnectOptions = {}): Promise<RfbClient> {
    const timeoutMs = options.timeoutMs ?? 20_000;
    const socketPath = typeof target === 'string' ? target : target.name;
    return new Promise((resolve, reject) => {
      let socket: Duplex;
      if (typeof target === 'string') {
        const connection = createConnection(target);
        connection.setNoDelay(true);
        socket = connection;
      } else {
        socket = target.stream;
      }
      const client = new RfbClient(socket);
      let buffer = Buffer.alloc(0);
      let phase: 'version' | 'security' | 'challenge' | 'result' | 'init' | 'ready' = 'version';
      const timer = setTimeout(() => fail('handshake timed out'), timeoutMs);
      const fail = (why: string) => {
        clearTimeout(timer);
        socket.destroy();
        reject(new Error(`VNC ${socketPath}: ${why}`));
      };
      socket.on('error', (error) => {
        if (phase !== 'ready') fail(error.message);
        else client.#fail(error);
      });
      socket.on('close', () => {
        if (phase !== 'ready') fail('the server closed the connection during the handshake');
        else client.#fail(new Error('the VNC server closed the connection'));
      });
      const onHandshake = (chunk: Buffer) => {
        buffer = Buffer.concat([buffer, chunk]);
        for (;;) {
          if (phase === 'version') {
            if (buffer.length < 12) return;
            buffer = buffer.subarray(12);
            socket.write('RFB 003.008\n');
            phase = 'security';
          } else if (phase === 'security') {
            if (buffer.length < 1) return;
            const count = buffer[0]!;
            if (count === 0) return fail('the server refused the connection');
            if (buffer.length < 1 + count) return;
            const types = [...buffer.subarray(1, 1 + count)];
            buffer = buffer.subarray(1 + count);
            if (types.includes(2) && options.password !== undefined) {
              socket.write(Buffer.from([2]));
              phase = 'challenge';
            } else if (types.includes(1)) {
              socket.write(Buffer.from([1]));
              phase = 'result';
            } else {
              return fail(`no usable security type (offered ${types.join(',')}${options.password === undefined ? '; no password given' : ''})`);
            }
          } else if (phase === 'challenge') {
            if (buffer.length < 16) return;
            socket.write(vncAuthResponse(options.password!, buffer.subarray(0, 16)));
            buffer = buffer.subarray(16);
            phase = 'result';
          } else if (phase === 'result') {
            if (buffer.length < 4) return;
            if (buffer.readUInt32BE(0) !== 0) return fail('authentication failed');
            buffer = buffer.subarray(4);
            socket.write(Buffer.from([1])); // ClientInit, shared: other viewers stay connected
            phase = 'init';
          } else if (phase === 'init') {
            if (buffer.length < 24) return;
            const nameLength = buffer.readUInt32BE(20);
            if (buffer.length < 24 + nameLength) return;
            const width = buffer.readUInt16BE(0);
            const height = buffer.readUInt16BE(2);
            const rest = buffer.subarray(24 + nameLength);
            phase = 'ready';
            clearTimeout(timer);
            socket.off('data', onHandshake);
            client.#parser = new RfbMessageParser(width, height, (event) => client.#onEvent(event));
            socket.on('data', (data: Buffer) => {
              try {
                client.#parser.push(data);
              } catch (error) {
                client.#fail(error as Error);
              }
            });
            socket.write(Buffer.concat([pixelFormatMessage(), setEncodingsMessage(RFB_ENCODINGS)]));
            if (rest.length > 0) client.#parser.push(rest);
            return resolve(client);
          } else {
            return;
          }
        }
      };
      socket.on('data', onHandshake);
    });
  }

  #fail(error: Error): void {
    if (this.#closed) return;
    this.#error = error;
    this.#closed = true;
    this.socket.destroy();
    for (const listener of [...this.#listeners]) listener({ at: Number.NaN, pixelRects: -1, area: 0, rects: [], bytes: 0 });
  }

  #onEvent(event: ServerEvent): void {
    if (event.type !== 'update') return;
    this.updates++;
    // A viewer asks for the next update as soon as it has handled one (noVNC does the same).
    if (this.#streaming) this.requestUpdate(true);
    for (const listener of [...this.#listeners]) listener(event.update);
  }

  requestUpdate(incremental: boolean): void {
    if (this.#closed) return;
    const request = Buffer.alloc(10);
    request.writeUInt8(3, 0);
    request.writeUInt8(incremental ? 1 : 0, 1);
    request.writeUInt16BE(this.width, 6);
    request.writeUInt16BE(this.height, 8);
    this.socket.write(request);
  }

  /** Full update now, then an incremental request after every update, as long as the connection lives. */
  stream(): void {
    this.#streaming = true;
    this.requestUpdate(false);
  }

  onUpdate(listener: (update: FramebufferUpdate) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The next update that `accept` takes (default: any with pixels). */
  nextUpdate(timeoutMs = 10_000, accept: (update: FramebufferUpdate) => boolean = (update) => update.pixelRects > 0): Promise<FramebufferUpdate> {
    if (this.#error) return Promise.reject(this.#error);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new Error(`no framebuffer update within ${timeoutMs} ms`));
      }, timeoutMs);
      const off = this.onUpdate((update) => {
        if (update.pixelRects < 0) {
          clearTimeout(timer);
          off();
          return reject(this.#error ?? new Error('the VNC connection ended'));
        }
        if (!accept(update)) return;
        clearTimeout(timer);
        off();
        resolve(update);
      });
    });
  }

  /** A key (an X keysym) going down or up, as an RFB KeyEvent. */
  keyEvent(keysym: number, down: boolean): void {
    if (this.#closed) return;
    const message = Buffer.alloc(8);
    message.writeUInt8(4, 0);
    message.writeUInt8(down ? 1 : 0, 1);
    message.writeUInt32BE(keysym, 4);
    this.socket.write(message);
  }

  close(): void {
    this.#closed = true;
    this.#streaming = false;
    this.socket.destroy();
  }
}

/** X keysyms used by the benchmarks. */
export const KEYSYM = { a: 0x61, backSpace: 0xff08 } as const;
