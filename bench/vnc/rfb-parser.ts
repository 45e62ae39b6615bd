/**
 * Splits a VNC server's byte stream (after ServerInit) into messages without decoding any pixels:
 * it only works out how long every rectangle is, so a client can count FramebufferUpdates and
 * see which ones changed the screen. Handles what `RFB_ENCODINGS` asks QEMU for.
 */

export const ENCODING = {
  raw: 0,
  copyRect: 1,
  tight: 7,
  zrle: 16,
  cursor: -239,
  desktopSize: -223,
  lastRect: -224,
  qemuExtendedKeyEvent: -258,
  qemuLedState: -261,
  extendedDesktopSize: -308,
  /** Tight's JPEG quality 0–9 is -32 + level; zlib level 0–9 is -256 + level. */
  qualityLevel0: -32,
  compressLevel0: -256,
} as const;

/**
 * What noVNC 1.7 asks QEMU for (the encodings QEMU supports of noVNC's list, same order, same
 * quality and compression levels), so a direct client makes QEMU do the same encoding work.
 */
export const RFB_ENCODINGS: readonly number[] = [
  ENCODING.copyRect,
  ENCODING.tight,
  ENCODING.zrle,
  ENCODING.raw,
  ENCODING.qualityLevel0 + 6,
  ENCODING.compressLevel0 + 2,
  ENCODING.desktopSize,
  ENCODING.lastRect,
  ENCODING.qemuExtendedKeyEvent,
  ENCODING.qemuLedState,
  ENCODING.extendedDesktopSize,
  ENCODING.cursor,
];

/** noVNC's pixel format: 32 bits per pixel, depth 24, little-endian true colour, red at bit 0. */
export const BYTES_PER_PIXEL = 4;

export interface FramebufferUpdate {
  /** `performance.now()` when the last byte of the update arrived. */
  at: number;
  /** Rectangles carrying pixels (pseudo-encodings such as the LED state do not count). */
  pixelRects: number;
  /** Pixels covered by those rectangles. */
  area: number;
  /** The rectangles carrying pixels. */
  rects: Rect[];
  bytes: number;
}

export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

export type ServerEvent =
  | { type: 'update'; update: FramebufferUpdate }
  | { type: 'resize'; width: number; height: number }
  | { type: 'bell' }
  | { type: 'cut-text' }
  | { type: 'colour-map' };

type Need = { kind: 'bytes'; count: number } | { kind: 'skip' };

class ProtocolError extends Error {}

/**
 * A push parser: feed it chunks, it emits events. Large rectangle payloads are skipped as they
 * arrive instead of being buffered.
 */
export class RfbMessageParser {
  #chunks: Buffer[] = [];
  #buffered = 0;
  /** Bytes still to drop (the payload of a rectangle whose length is known). */
  #skip = 0;
  #rectsLeft = 0;
  #pendingFinish = false;
  #current: { rects: Rect[]; bytes: number } | undefined;
  width: number;
  height: number;

  constructor(
    width: number,
    height: number,
    private readonly emit: (event: ServerEvent) => void,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.width = width;
    this.height = height;
  }

  push(chunk: Buffer): void {
    if (this.#skip > 0) {
      const dropped = Math.min(this.#skip, chunk.length);
      this.#skip -= dropped;
      this.#account(dropped);
      chunk = chunk.subarray(dropped);
      if (chunk.length === 0) {
        if (this.#skip === 0) this.#drain();
        return;
      }
    }
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    this.#drain();
  }

  #peek(count: number): Buffer | undefined {
    if (this.#buffered < count) return undefined;
    if (this.#chunks[0]!.length < count) this.#chunks = [Buffer.concat(this.#chunks)];
    return this.#chunks[0]!.subarray(0, count);
  }

  #account(count: number): void {
    if (this.#current) this.#current.bytes += count;
  }

  #consume(count: number): void {
    this.#account(count);
    this.#buffered -= count;
    while (count > 0) {
      const first = this.#chunks[0]!;
      if (first.length <= count) {
        count -= first.length;
        this.#chunks.shift();
      } else {
        this.#chunks[0] = first.subarray(count);
        count = 0;
      }
    }
  }

  /** Drops `count` bytes: what is buffered now, the rest as it arrives. */
  #skipBytes(count: number): Need | undefined {
    const now = Math.min(count, this.#buffered);
    this.#consume(now);
    this.#skip = count - now;
    return this.#skip > 0 ? { kind: 'skip' } : undefined;
  }

  #drain(): void {
    for (;;) {
      if (this.#skip > 0) return;
      if (this.#pendingFinish) {
        this.#pendingFinish = false;
        this.#finishUpdate();
        continue;
      }
      const need = this.#rectsLeft > 0 ? this.#rect() : this.#message();
      if (need) return;
    }
  }

  #finishUpdate(): void {
    const current = this.#current!;
    this.#current = undefined;
    this.#rectsLeft = 0;
    const area = current.rects.reduce((sum, rect) => sum + rect.w * rect.h, 0);
    this.emit({ type: 'update', update: { at: this.now(), pixelRects: current.rects.length, area, rects: current.rects, bytes: current.bytes } });
  }

  /** One server message header; returns what it still needs, or undefined when it consumed one. */
  #message(): Need | undefined {
    const type = this.#peek(1)?.[0];
    if (type === undefined) return { kind: 'bytes', count: 1 };
    switch (type) {
      case 0: {
        const header = this.#peek(4);
        if (!header) return { kind: 'bytes', count: 4 };
        const rects = header.readUInt16BE(2);
        this.#consume(4);
        this.#current = { rects: [], bytes: 4 };
        this.#rectsLeft = rects === 0xffff ? Number.POSITIVE_INFINITY : rects; // 0xffff: ends with LastRect
        if (rects === 0) this.#finishUpdate();
        return undefined;
      }
      case 1: {
        const header = this.#peek(6);
        if (!header) return { kind: 'bytes', count: 6 };
        const length = 6 + header.readUInt16BE(4) * 6;
        if (!this.#peek(length)) return { kind: 'bytes', count: length };
        this.#consume(length);
        this.emit({ type: 'colour-map' });
        return undefined;
      }
      case 2:
        this.#consume(1);
        this.emit({ type: 'bell' });
        return undefined;
      case 3: {
        const header = this.#peek(8);
        if (!header) return { kind: 'bytes', count: 8 };
        const length = 8 + header.readUInt32BE(4);
        this.#consume(8);
        this.emit({ type: 'cut-text' });
        return this.#skipBytes(length - 8);
      }
      default:
        throw new ProtocolError(`unexpected server message type ${type}`);
    }
  }

  /** One rectangle of the current update. */
  #rect(): Need | undefined {
    const header = this.#peek(12);
    if (!header) return { kind: 'bytes', count: 12 };
    const x = header.readUInt16BE(0);
    const y = header.readUInt16BE(2);
    const w = header.readUInt16BE(4);
    const h = header.readUInt16BE(6);
    const encoding = header.readInt32BE(8);
    const current = this.#current!;
    const pixels = (payload: number): Need | undefined => {
      this.#consume(12);
      current.rects.push({ x, y, w, h });
      this.#rectDone();
      return this.#skipBytes(payload);
    };
    switch (encoding) {
      case ENCODING.raw:
        return pixels(w * h * BYTES_PER_PIXEL);
      case ENCODING.copyRect:
        return pixels(4);
      case ENCODING.zrle: {
        const length = this.#peek(16);
        if (!length) return { kind: 'bytes', count: 16 };
        return pixels(4 + length.readUInt32BE(12));
      }
      case ENCODING.tight: {
        const size = this.#tightLength(w, h);
        if (size === undefined) return { kind: 'bytes', count: this.#buffered + 1 };
        return pixels(size);
      }
      case ENCODING.cursor:
        this.#consume(12);
        this.#rectDone();
        return this.#skipBytes(w * h * BYTES_PER_PIXEL + ((w + 7) >> 3) * h);
      case ENCODING.desktopSize:
        this.#consume(12);
        this.#resize(w, h);
        this.#rectDone();
        return undefined;
      case ENCODING.extendedDesktopSize: {
        const count = this.#peek(13);
        if (!count) return { kind: 'bytes', count: 13 };
        const length = 12 + 4 + count[12]! * 16;
        if (!this.#peek(length)) return { kind: 'bytes', count: length };
        this.#consume(length);
        this.#resize(w, h);
        this.#rectDone();
        return undefined;
      }
      case ENCODING.qemuLedState:
        if (!this.#peek(13)) return { kind: 'bytes', count: 13 };
        this.#consume(13);
        this.#rectDone();
        return undefined;
      case ENCODING.qemuExtendedKeyEvent:
        this.#consume(12);
        this.#rectDone();
        return undefined;
      case ENCODING.lastRect:
        this.#consume(12);
        this.#finishUpdate();
        return undefined;
      default:
        throw new ProtocolError(`rectangle in encoding ${encoding}, which this client never asked for`);
    }
  }

  /** After the last rectangle the update is complete once its payload is through (see #drain). */
  #rectDone(): void {
    this.#rectsLeft--;
    if (this.#rectsLeft === 0) this.#pendingFinish = true;
  }

  #resize(width: number, height: number): void {
    this.width = width;
    this.height = height;
    this.emit({ type: 'resize', width, height });
  }

  /**
   * The payload length of a Tight rectangle at the buffer's start (after its 12-byte header), or
   * undefined while too few bytes are in. Pixels are 3 bytes (TPIXEL of a 24-bit depth format).
   */
  #tightLength(w: number, h: number): number | undefined {
    const available = this.#buffered - 12;
    if (available < 1) return undefined;
    const bytes = this.#peek(Math.min(12 + 1 + 2 + 1 + 256 * 3 + 3, this.#buffered))!;
    let offset = 12;
    const control = bytes[offset++]!;
    const compression = control >> 4;
    const compact = (): number | undefined => {
      let length = 0;
      for (let i = 0; i < 3; i++) {
        const byte = bytes[offset++];
        if (byte === undefined) return undefined;
        length |= (i === 2 ? byte : byte & 0x7f) << (7 * i);
        if (i < 2 && (byte & 0x80) === 0) break;
      }
      return length;
    };
    if (compression === 0x08) return 1 + 3; // fill
    if (compression === 0x09 || compression === 0x0a) {
      // JPEG, or PNG for TightPNG: a compact length and that many bytes.
      const length = compact();
      return length === undefined ? undefined : offset - 12 + length;
    }
    if (compression > 0x0a) throw new ProtocolError(`bad Tight compression control 0x${control.toString(16)}`);
    let filter = 0;
    if (compression & 0x04) {
      const byte = bytes[offset++];
      if (byte === undefined) return undefined;
      filter = byte;
    }
    let raw: number;
    if (filter === 1) {
      const count = bytes[offset++];
      if (count === undefined) return undefined;
      const colours = count + 1;
      offset += colours * 3;
      if (offset > bytes.length) return undefined;
      raw = colours === 2 ? ((w + 7) >> 3) * h : w * h;
    } else if (filter === 0 || filter === 2) {
      raw = w * h * 3;
    } else {
      throw new ProtocolError(`bad Tight filter ${filter}`);
    }
    if (raw < 12) return offset - 12 + raw;
    const length = compact();
    return length === undefined ? undefined : offset - 12 + length;
  }
}
