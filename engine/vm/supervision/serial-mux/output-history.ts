import { open } from 'node:fs/promises';

/**
 * The last few KiB of the guest's serial output, replayed to a viewer that joins late so its
 * screen is not empty. Kept in memory (not re-read from QEMU's log per viewer) so the replay and
 * the live stream meet exactly: nothing doubled, nothing skipped.
 */
export class OutputHistory {
  readonly #limit: number;
  #chunks: Buffer[] = [];
  #size = 0;
  /** The kept output starts mid-stream (older output was let go, or the seed was a file's tail). */
  #truncated = false;

  constructor(limitBytes: number) {
    this.#limit = Math.max(0, limitBytes);
  }

  get size(): number {
    return Math.min(this.#size, this.#limit);
  }

  /** Starts from the tail of QEMU's serial log; `truncated`: the file held more than this. */
  seed(tail: Buffer, truncated: boolean): void {
    this.push(tail);
    if (truncated) this.#truncated = true;
  }

  push(chunk: Buffer): void {
    if (this.#limit === 0 || chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#size += chunk.length;
    // Compact lazily: keep at most twice the limit around.
    if (this.#size > 2 * this.#limit) {
      const tail = this.#tail();
      this.#chunks = [tail];
      this.#size = tail.length;
      this.#truncated = true;
    }
  }

  #tail(): Buffer {
    const all = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks);
    return all.length > this.#limit ? Buffer.from(all.subarray(all.length - this.#limit)) : all;
  }

  /**
   * What a new viewer sees first: at most the limit, starting after a line break when the cut
   * fell inside a line (so it does not open with half a UTF-8 character or escape sequence).
   */
  snapshot(): Buffer {
    if (this.#size === 0) return Buffer.alloc(0);
    const tail = this.#tail();
    if (!this.#truncated && this.#size <= this.#limit) return tail;
    const newline = tail.indexOf(0x0a);
    return newline >= 0 && newline < tail.length - 1 ? tail.subarray(newline + 1) : tail;
  }
}

/** The last `bytes` of a file (empty when it is missing), and whether the file held more. */
export async function readFileTail(path: string, bytes: number): Promise<{ tail: Buffer; truncated: boolean }> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch {
    return { tail: Buffer.alloc(0), truncated: false };
  }
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, bytes);
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buffer, 0, length, size - length);
    return { tail: buffer.subarray(0, bytesRead), truncated: size > length };
  } finally {
    await handle.close();
  }
}
