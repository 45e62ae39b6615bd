import { VirNetMessageStatus } from '../protocol/protocol';

type SendPacket = (status: number, data?: Uint8Array) => void;

/**
 * One libvirt data stream (virStream): packets that share the serial of the call that opened
 * it. Read it with `for await`; send with `write`, end with `finish` (success) or `abort`.
 */
export class RpcStream implements AsyncIterable<Buffer> {
  private readonly queue: Buffer[] = [];
  private done = false;
  private error: Error | undefined;
  private wake: (() => void) | undefined;

  constructor(
    private readonly sendPacket: SendPacket,
    private readonly release: () => void,
  ) {}

  push(data: Buffer): void {
    if (this.done) return;
    this.queue.push(data);
    this.wake?.();
  }

  end(): void {
    this.settle();
  }

  fail(error: Error): void {
    if (this.done) return;
    this.error = error;
    this.settle();
  }

  write(data: Uint8Array): void {
    if (this.done) throw this.error ?? new Error('the stream has ended');
    this.sendPacket(VirNetMessageStatus.VIR_NET_CONTINUE, data);
  }

  /** Tells libvirt the data is complete. */
  finish(): void {
    if (this.done) return;
    this.sendPacket(VirNetMessageStatus.VIR_NET_OK);
    this.settle();
  }

  /** Tells libvirt to drop the stream. */
  abort(): void {
    if (this.done) return;
    this.sendPacket(VirNetMessageStatus.VIR_NET_ERROR);
    this.settle();
  }

  /** Everything left in the stream, joined. */
  async readAll(): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of this) chunks.push(chunk);
    return Buffer.concat(chunks);
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Buffer> {
    for (;;) {
      const next = this.queue.shift();
      if (next) { yield next; continue; }
      if (this.error) throw this.error;
      if (this.done) return;
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = undefined;
    }
  }

  private settle(): void {
    this.done = true;
    this.release();
    this.wake?.();
  }
}
