// Appends XDR's big-endian 4-byte units to a growing buffer.
export class XdrWriter {
  private buffer: Buffer;
  private length = 0;

  constructor(initialSize = 256) {
    this.buffer = Buffer.allocUnsafe(initialSize);
  }

  private reserve(bytes: number): number {
    const at = this.length;
    if (at + bytes > this.buffer.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, at + bytes));
      this.buffer.copy(grown, 0, 0, at);
      this.buffer = grown;
    }
    this.length += bytes;
    return at;
  }

  // reserve() may replace this.buffer: call it before reading the field.
  int(value: number): void { const at = this.reserve(4); this.buffer.writeInt32BE(value, at); }
  uint(value: number): void { const at = this.reserve(4); this.buffer.writeUInt32BE(value, at); }
  hyper(value: bigint): void { const at = this.reserve(8); this.buffer.writeBigInt64BE(value, at); }
  uhyper(value: bigint): void { const at = this.reserve(8); this.buffer.writeBigUInt64BE(value, at); }
  double(value: number): void { const at = this.reserve(8); this.buffer.writeDoubleBE(value, at); }
  float(value: number): void { const at = this.reserve(4); this.buffer.writeFloatBE(value, at); }

  /** Bytes padded with zeros to a multiple of four. */
  bytes(data: Uint8Array): void {
    const padded = (data.length + 3) & ~3;
    const at = this.reserve(padded);
    this.buffer.set(data, at);
    this.buffer.fill(0, at + data.length, at + padded);
  }

  /** Overwrites a 4-byte unsigned value written earlier (a length prefix). */
  patchUint(at: number, value: number): void { this.buffer.writeUInt32BE(value, at); }

  get size(): number { return this.length; }

  /** The bytes written so far (a copy-free view; do not write after taking it). */
  result(): Buffer { return this.buffer.subarray(0, this.length); }
}
