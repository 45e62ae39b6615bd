import { describe, expect, it } from 'vitest';
import { ENCODING, RfbMessageParser, type ServerEvent } from '../../../bench/vnc/rfb-parser';

/** A FramebufferUpdate header: type 0, padding, rectangle count. */
const updateHeader = (rects: number) => Buffer.from([0, 0, rects >> 8, rects & 0xff]);

function rectHeader(x: number, y: number, w: number, h: number, encoding: number): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(x, 0);
  header.writeUInt16BE(y, 2);
  header.writeUInt16BE(w, 4);
  header.writeUInt16BE(h, 6);
  header.writeInt32BE(encoding, 8);
  return header;
}

function parse(chunks: Buffer[]): ServerEvent[] {
  const events: ServerEvent[] = [];
  const parser = new RfbMessageParser(720, 400, (event) => events.push(event), () => 0);
  for (const chunk of chunks) parser.push(chunk);
  return events;
}

/** Every split of `stream` into byte-sized chunks must give the same events as one chunk. */
function parseEveryWay(stream: Buffer): ServerEvent[] {
  const whole = parse([stream]);
  const bytewise = parse([...stream].map((byte) => Buffer.from([byte])));
  expect(bytewise).toEqual(whole);
  return whole;
}

const updates = (events: ServerEvent[]) => events.flatMap((event) => (event.type === 'update' ? [event.update] : []));

describe('RFB message parser', () => {
  it('skips raw pixels by their size and reports the rectangles', () => {
    const stream = Buffer.concat([updateHeader(1), rectHeader(8, 16, 4, 2, ENCODING.raw), Buffer.alloc(4 * 2 * 4, 7), updateHeader(0)]);
    const [first, second] = updates(parseEveryWay(stream));
    expect(first).toMatchObject({ pixelRects: 1, area: 8, rects: [{ x: 8, y: 16, w: 4, h: 2 }], bytes: stream.length - 4 });
    expect(second).toMatchObject({ pixelRects: 0, area: 0 });
  });

  it('reads ZRLE lengths, pseudo-encodings without pixels and LastRect', () => {
    const zrle = Buffer.concat([rectHeader(0, 0, 64, 64, ENCODING.zrle), Buffer.from([0, 0, 0, 5]), Buffer.alloc(5)]);
    const led = Buffer.concat([rectHeader(0, 0, 0, 0, ENCODING.qemuLedState), Buffer.from([2])]);
    const extKey = rectHeader(0, 0, 0, 0, ENCODING.qemuExtendedKeyEvent);
    const last = rectHeader(0, 0, 0, 0, ENCODING.lastRect);
    const stream = Buffer.concat([updateHeader(0xffff), zrle, led, extKey, last, Buffer.from([2])]);
    const events = parseEveryWay(stream);
    expect(updates(events)).toEqual([expect.objectContaining({ pixelRects: 1, area: 64 * 64 })]);
    expect(events.at(-1)).toEqual({ type: 'bell' });
  });

  it('works out Tight lengths: fill, small uncompressed, palette with compact length, JPEG', () => {
    const fill = Buffer.concat([rectHeader(0, 0, 720, 400, ENCODING.tight), Buffer.from([0x80, 1, 2, 3])]);
    // Copy filter, 2×1 pixels = 6 bytes < 12: sent as is, no length.
    const small = Buffer.concat([rectHeader(0, 0, 2, 1, ENCODING.tight), Buffer.from([0x00]), Buffer.alloc(6)]);
    // Explicit palette filter, 3 colours (1 byte per pixel), 16×16 = 256 bytes: compact length 200 (0xc8 0x01).
    const palette = Buffer.concat([rectHeader(0, 0, 16, 16, ENCODING.tight), Buffer.from([0x40, 1, 2]), Buffer.alloc(9), Buffer.from([0xc8, 0x01]), Buffer.alloc(200)]);
    // Two colours: one bit per pixel, rows padded: 9×2 → 2 bytes per row → 4 bytes < 12, raw.
    const mono = Buffer.concat([rectHeader(0, 0, 9, 2, ENCODING.tight), Buffer.from([0x40, 1, 1]), Buffer.alloc(6), Buffer.alloc(4)]);
    const jpeg = Buffer.concat([rectHeader(0, 0, 32, 32, ENCODING.tight), Buffer.from([0x90, 0x03]), Buffer.alloc(3)]);
    const stream = Buffer.concat([updateHeader(5), fill, small, palette, mono, jpeg, updateHeader(0)]);
    const found = updates(parseEveryWay(stream));
    expect(found).toHaveLength(2);
    expect(found[0]).toMatchObject({ pixelRects: 5, bytes: stream.length - 4 });
  });

  it('follows a desktop resize', () => {
    const events = parseEveryWay(Buffer.concat([updateHeader(1), rectHeader(0, 0, 1024, 768, ENCODING.desktopSize)]));
    expect(events[0]).toEqual({ type: 'resize', width: 1024, height: 768 });
    expect(updates(events)).toEqual([expect.objectContaining({ pixelRects: 0 })]);
  });

  it('refuses encodings it never asked for', () => {
    expect(() => parse([Buffer.concat([updateHeader(1), rectHeader(0, 0, 1, 1, 5)])])).toThrow(/encoding 5/);
  });
});
