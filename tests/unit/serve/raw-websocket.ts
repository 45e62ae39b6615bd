import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

/** One WebSocket frame, built by hand so that tests can break every rule of RFC 6455. */
export interface FrameSpec {
  fin?: boolean;
  /** The three RSV bits, 0–7. */
  rsv?: number;
  opcode: number;
  payload?: Buffer;
  /** Clients must mask; false sends the payload in the clear. */
  masked?: boolean;
  /** Claims this payload length instead of the real one (only the header says so). */
  claimedLength?: bigint;
}

export function buildFrame(spec: FrameSpec): Buffer {
  const payload = spec.payload ?? Buffer.alloc(0);
  const masked = spec.masked ?? true;
  const length = spec.claimedLength ?? BigInt(payload.length);
  const head = [((spec.fin ?? true) ? 0x80 : 0) | ((spec.rsv ?? 0) << 4) | (spec.opcode & 0x0f)];
  const maskBit = masked ? 0x80 : 0;
  let extended = Buffer.alloc(0);
  if (length < 126n) head.push(maskBit | Number(length));
  else if (length < 65536n) {
    head.push(maskBit | 126);
    extended = Buffer.alloc(2);
    extended.writeUInt16BE(Number(length));
  } else {
    head.push(maskBit | 127);
    extended = Buffer.alloc(8);
    extended.writeBigUInt64BE(length);
  }
  if (!masked) return Buffer.concat([Buffer.from(head), extended, payload]);
  const key = randomBytes(4);
  const body = Buffer.from(payload);
  for (let i = 0; i < body.length; i++) body[i]! ^= key[i % 4]!;
  return Buffer.concat([Buffer.from(head), extended, key, body]);
}

export const textFrame = (text: string): Buffer => buildFrame({ opcode: 1, payload: Buffer.from(text) });

/** A TCP socket that has completed a WebSocket handshake with serve, for writing raw frames. */
export interface RawWebSocket {
  socket: Socket;
  /** Bytes the server sent after the handshake. */
  received(): Buffer;
  /** Resolves when the server has sent a close frame or closed the connection; rejects after `ms`. */
  closedByServer(ms: number): Promise<void>;
}

export function openRawWebSocket(port: number, path: string, headers: Record<string, string>): Promise<RawWebSocket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let buffered = Buffer.alloc(0);
    let upgraded = false;
    let ended = false;
    const endWaiters: (() => void)[] = [];
    const onEnd = () => {
      ended = true;
      endWaiters.splice(0).forEach((wake) => wake());
      if (!upgraded) reject(new Error(`the server closed before the handshake: ${buffered.toString('latin1')}`));
    };
    socket.on('error', () => socket.destroy());
    socket.on('close', onEnd);
    socket.on('end', () => socket.end());
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (upgraded) {
        if (closeCodeOf(buffered) !== undefined) endWaiters.splice(0).forEach((wake) => wake());
        return;
      }
      const end = buffered.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buffered.subarray(0, end).toString('latin1');
      if (!head.startsWith('HTTP/1.1 101')) {
        reject(new Error(`handshake refused: ${head.split('\r\n')[0]}`));
        socket.destroy();
        return;
      }
      upgraded = true;
      buffered = buffered.subarray(end + 4);
      resolve({
        socket,
        received: () => buffered,
        closedByServer: (ms) =>
          new Promise<void>((done, fail) => {
            if (ended || closeCodeOf(buffered) !== undefined) return done();
            const timer = setTimeout(() => fail(new Error(`the server kept the connection open for ${ms} ms`)), ms);
            endWaiters.push(() => {
              clearTimeout(timer);
              done();
            });
          }),
      });
    });
    const lines = [
      `GET ${path} HTTP/1.1`,
      `Host: 127.0.0.1:${port}`,
      'Upgrade: websocket',
      'Connection: Upgrade',
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
      'Sec-WebSocket-Version: 13',
      ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
    ];
    socket.write(`${lines.join('\r\n')}\r\n\r\n`);
  });
}

/** The status code of the first close frame the server sent, if any (server frames are unmasked). */
export function closeCodeOf(bytes: Buffer): number | undefined {
  let at = 0;
  while (at + 2 <= bytes.length) {
    const opcode = bytes[at]! & 0x0f;
    let length = bytes[at + 1]! & 0x7f;
    let start = at + 2;
    if (length === 126) {
      length = bytes.readUInt16BE(start);
      start += 2;
    } else if (length === 127) {
      length = Number(bytes.readBigUInt64BE(start));
      start += 8;
    }
    if (opcode === 8) return length >= 2 ? bytes.readUInt16BE(start) : 1005;
    at = start + length;
  }
  return undefined;
}
