import { XdrError } from './xdr-error';

// Reads XDR's big-endian 4-byte units from a buffer, refusing to read past its end.
export class XdrReader {
  private at = 0;

  constructor(private readonly buffer: Buffer) {}

  private take(bytes: number): number {
    const at = this.at;
    if (at + bytes > this.buffer.length) throw new XdrError(`needs ${bytes} bytes at offset ${at}, but the message has ${this.buffer.length}`);
    this.at += bytes;
    return at;
  }

  int(): number { return this.buffer.readInt32BE(this.take(4)); }
  uint(): number { return this.buffer.readUInt32BE(this.take(4)); }
  hyper(): bigint { return this.buffer.readBigInt64BE(this.take(8)); }
  uhyper(): bigint { return this.buffer.readBigUInt64BE(this.take(8)); }
  double(): number { return this.buffer.readDoubleBE(this.take(8)); }
  float(): number { return this.buffer.readFloatBE(this.take(4)); }

  /** `length` bytes and their padding to a multiple of four; a copy, so the message buffer can go. */
  bytes(length: number): Buffer {
    const at = this.take((length + 3) & ~3);
    return Buffer.from(this.buffer.subarray(at, at + length));
  }

  get offset(): number { return this.at; }
  get remaining(): number { return this.buffer.length - this.at; }
}
