// libvirt's RPC over one ByteChannel: calls matched to replies by serial number, errors with
// libvirt's own code and message, event messages, stream packets, and keepalive.
import {
  KEEPALIVE_PROGRAM,
  KEEPALIVE_PROTOCOL_VERSION,
  KeepaliveProcedure,
  REMOTE_PROGRAM,
  REMOTE_PROTOCOL_VERSION,
  VirNetMessageStatus,
  VirNetMessageType,
  procedureName,
  protocolCodec,
  remoteProcedures,
  type ArgsOf,
  type ProcedureName,
  type RetOf,
  type XdrTypeMap,
} from '../protocol/protocol';
import type { ByteChannel } from '../transport/channel';
import { LibvirtConnectionError, LibvirtError } from './errors';
import { PacketDecoder, encodePacket, type Packet, type PacketHeader } from './packet';
import { RpcStream } from './stream';

export interface CallOptions {
  /** Milliseconds to wait for the reply; the client's default when not given. */
  timeoutMs?: number;
  /** Stops waiting. libvirt has no way to cancel a call it is running: it may still complete. */
  signal?: AbortSignal;
}

export interface KeepaliveOptions {
  /** A ping is sent after this long without a message from the daemon. */
  intervalMs: number;
  /** The connection is declared dead after this many intervals without any message. */
  count: number;
}

export interface RpcClientOptions {
  callTimeoutMs?: number;
  /** A name for the far end in messages (`root@host`, `qemu:///system`). */
  host: string;
}

/** An event message: the procedure it came with and its decoded body. */
export interface RpcEvent {
  procedure: ProcedureName;
  message: unknown;
}

interface Pending {
  procedure: ProcedureName;
  resolve: (payload: Buffer) => void;
  reject: (error: Error) => void;
  stream?: RpcStream;
}

const DEFAULT_CALL_TIMEOUT_MS = 30_000;

export class RpcClient {
  private serial = 0;
  private readonly pending = new Map<number, Pending>();
  private readonly streams = new Map<number, RpcStream>();
  private readonly decoder = new PacketDecoder();
  private readonly eventListeners = new Set<(event: RpcEvent) => void>();
  private lastHeard = Date.now();
  private keepaliveTimer: NodeJS.Timeout | undefined;
  private failure: Error | undefined;
  private closedOnPurpose = false;
  /** Settles once when the connection ends, with why (undefined: closed on purpose). */
  readonly closed: Promise<Error | undefined>;

  constructor(
    private readonly channel: ByteChannel,
    private readonly options: RpcClientOptions,
  ) {
    channel.onData((chunk) => this.receive(chunk));
    this.closed = channel.closed.then((reason) => {
      this.stopKeepalive();
      const error = this.failure ?? (this.closedOnPurpose ? undefined
        : new LibvirtConnectionError('closed', `The connection to ${options.host} closed${reason ? `: ${reason.message}` : ''}.`, { hint: 'Check that the host is up and its libvirt daemon runs, then connect again.', cause: reason }));
      this.failure ??= error ?? new LibvirtConnectionError('closed', `The connection to ${options.host} is closed.`);
      for (const [serial, pending] of this.pending) {
        this.pending.delete(serial);
        pending.reject(this.failure);
      }
      for (const stream of this.streams.values()) stream.fail(this.failure);
      this.streams.clear();
      return error;
    });
  }

  get host(): string { return this.options.host; }
  get isOpen(): boolean { return this.failure === undefined && !this.closedOnPurpose; }

  /** Calls a remote procedure and resolves with its decoded reply. */
  async call<P extends ProcedureName>(procedure: P, ...[args, options]: ArgsOf<P> extends void ? [args?: undefined, options?: CallOptions] : [args: ArgsOf<P>, options?: CallOptions]): Promise<RetOf<P>> {
    const entry = remoteProcedures[procedure];
    const payload = entry.args ? protocolCodec.encode(entry.args, args as never) : undefined;
    const reply = await this.send(procedure, payload, options ?? {});
    return (entry.ret ? protocolCodec.decode(entry.ret, reply) : undefined) as RetOf<P>;
  }

  /** Calls a procedure that opens a data stream (screenshots, consoles, volume upload and download). */
  async callWithStream<P extends ProcedureName>(procedure: P, args: ArgsOf<P>, options: CallOptions = {}): Promise<{ ret: RetOf<P>; stream: RpcStream }> {
    const entry = remoteProcedures[procedure];
    const payload = entry.args ? protocolCodec.encode(entry.args, args as never) : undefined;
    const serial = this.nextSerial();
    const stream = new RpcStream((status, data) => this.write({ prog: REMOTE_PROGRAM, vers: REMOTE_PROTOCOL_VERSION, proc: entry.proc, type: VirNetMessageType.VIR_NET_STREAM, serial, status }, data), () => this.streams.delete(serial));
    this.streams.set(serial, stream);
    try {
      const reply = await this.send(procedure, payload, options, serial);
      return { ret: (entry.ret ? protocolCodec.decode(entry.ret, reply) : undefined) as RetOf<P>, stream };
    } catch (error) {
      this.streams.delete(serial);
      throw error;
    }
  }

  onEvent(listener: (event: RpcEvent) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  /** Pings after `intervalMs` of silence; closes the connection after `count` silent intervals. */
  startKeepalive({ intervalMs, count }: KeepaliveOptions): void {
    this.stopKeepalive();
    this.keepaliveTimer = setInterval(() => {
      const silentFor = Date.now() - this.lastHeard;
      if (silentFor >= intervalMs * count) {
        this.fail(new LibvirtConnectionError('keepalive', `${this.options.host} stopped answering: no reply to keepalive for ${Math.round(silentFor / 1000)} s.`, { hint: 'The host or the network to it is down or overloaded; Virtdesk reconnects when it answers again.' }));
      } else if (silentFor >= intervalMs) {
        this.write({ prog: KEEPALIVE_PROGRAM, vers: KEEPALIVE_PROTOCOL_VERSION, proc: KeepaliveProcedure.KEEPALIVE_PROC_PING, type: VirNetMessageType.VIR_NET_MESSAGE, serial: 0, status: VirNetMessageStatus.VIR_NET_OK });
      }
    }, Math.max(20, Math.floor(intervalMs / 4)));
    this.keepaliveTimer.unref();
  }

  close(): void {
    this.closedOnPurpose = true;
    this.stopKeepalive();
    this.channel.close();
  }

  private stopKeepalive(): void {
    if (this.keepaliveTimer) clearInterval(this.keepaliveTimer);
    this.keepaliveTimer = undefined;
  }

  private fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    this.channel.close();
  }

  private nextSerial(): number {
    this.serial = (this.serial + 1) >>> 0;
    return this.serial;
  }

  private send(procedure: ProcedureName, payload: Buffer | undefined, options: CallOptions, serial = this.nextSerial()): Promise<Buffer> {
    if (this.failure || this.closedOnPurpose) {
      return Promise.reject(this.failure ?? new LibvirtConnectionError('closed', `The connection to ${this.options.host} is closed.`));
    }
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(abortError(signal, procedure, this.options.host));
    const timeoutMs = options.timeoutMs ?? this.options.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
    return new Promise<Buffer>((resolve, reject) => {
      const finish = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.pending.delete(serial);
      };
      const timer = setTimeout(() => {
        finish();
        reject(new LibvirtConnectionError('timeout', `${this.options.host} did not answer ${procedure} within ${Math.round(timeoutMs / 100) / 10} s.`, { hint: 'The host may be overloaded or the operation slow; try again, or check the host.' }));
      }, timeoutMs);
      const onAbort = (): void => {
        finish();
        reject(abortError(signal!, procedure, this.options.host));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.pending.set(serial, {
        procedure,
        resolve: (reply) => { finish(); resolve(reply); },
        reject: (error) => { finish(); reject(error); },
      });
      this.write({ prog: REMOTE_PROGRAM, vers: REMOTE_PROTOCOL_VERSION, proc: remoteProcedures[procedure].proc, type: VirNetMessageType.VIR_NET_CALL, serial, status: VirNetMessageStatus.VIR_NET_OK }, payload);
    });
  }

  private write(header: PacketHeader, payload?: Uint8Array): void {
    if (this.failure) return;
    this.channel.write(encodePacket(header, payload));
  }

  private receive(chunk: Buffer): void {
    this.lastHeard = Date.now();
    let packets: Packet[];
    try {
      packets = this.decoder.push(chunk);
    } catch (error) {
      this.fail(new LibvirtConnectionError('protocol', `${this.options.host} sent bytes that are not libvirt's protocol: ${(error as Error).message}`, { cause: error }));
      return;
    }
    for (const packet of packets) {
      try {
        this.dispatch(packet);
      } catch (error) {
        this.fail(new LibvirtConnectionError('protocol', `${this.options.host} sent a message Virtdesk cannot decode: ${(error as Error).message}`, { cause: error }));
        return;
      }
    }
  }

  private dispatch({ header, payload }: Packet): void {
    if (header.prog === KEEPALIVE_PROGRAM) {
      if (header.proc === KeepaliveProcedure.KEEPALIVE_PROC_PING) {
        this.write({ ...header, proc: KeepaliveProcedure.KEEPALIVE_PROC_PONG, type: VirNetMessageType.VIR_NET_MESSAGE, status: VirNetMessageStatus.VIR_NET_OK });
      }
      return;
    }
    if (header.prog !== REMOTE_PROGRAM) return;
    switch (header.type) {
      case VirNetMessageType.VIR_NET_REPLY:
      case VirNetMessageType.VIR_NET_REPLY_WITH_FDS: {
        const pending = this.pending.get(header.serial);
        if (!pending) return; // the caller stopped waiting (timeout or abort)
        if (header.status === VirNetMessageStatus.VIR_NET_ERROR) {
          pending.reject(new LibvirtError(pending.procedure, protocolCodec.decode('virNetMessageError', payload), this.options.host));
        } else {
          pending.resolve(payload);
        }
        return;
      }
      case VirNetMessageType.VIR_NET_MESSAGE: {
        const procedure = procedureName(header.proc);
        const messageType = procedure ? remoteProcedures[procedure].msg : null;
        if (!procedure || !messageType) return; // an event this client never asked for
        const message = protocolCodec.decode(messageType as keyof XdrTypeMap, payload);
        for (const listener of this.eventListeners) listener({ procedure, message });
        return;
      }
      case VirNetMessageType.VIR_NET_STREAM:
      case VirNetMessageType.VIR_NET_STREAM_HOLE: {
        const stream = this.streams.get(header.serial);
        if (!stream) return;
        if (header.status === VirNetMessageStatus.VIR_NET_ERROR) {
          const error = protocolCodec.decode('virNetMessageError', payload);
          stream.fail(new LibvirtError(procedureName(header.proc) ?? `procedure ${header.proc}`, error, this.options.host));
        } else if (header.type === VirNetMessageType.VIR_NET_STREAM && header.status === VirNetMessageStatus.VIR_NET_CONTINUE) {
          stream.push(payload);
        } else if (header.type === VirNetMessageType.VIR_NET_STREAM) {
          stream.end();
        }
        return;
      }
    }
  }
}

function abortError(signal: AbortSignal, procedure: string, host: string): Error {
  if (signal.reason instanceof Error && signal.reason.name !== 'AbortError') return signal.reason;
  return new LibvirtConnectionError('aborted', `${procedure} on ${host} was cancelled.`);
}
