import { QmpConnection } from './connection';
import { silentQmpLog, type QmpLog } from './log';
import { JsonLineTransport } from './transport';

export interface QmpConnectOptions {
  /** Budget for connecting, the greeting and `qmp_capabilities` together. */
  timeoutMs: number;
  /** Default reply timeout of each command (30 s unless given). */
  commandTimeoutMs?: number;
  /** Retry while the socket is missing or refusing (QEMU still starting). */
  waitForSocket?: boolean;
  /** Abort to stop waiting, e.g. when the QEMU process exits; an Error reason is thrown as is. */
  signal?: AbortSignal;
  log?: QmpLog;
}

const DEFAULT_COMMAND_TIMEOUT_MS = 30_000;

/** Connects to a QMP socket, reads the greeting and negotiates capabilities within one budget. */
export async function openQmpConnection(socketPath: string, options: QmpConnectOptions): Promise<QmpConnection> {
  const started = Date.now();
  const connectOptions: { timeoutMs: number; waitForSocket?: boolean; signal?: AbortSignal } = { timeoutMs: options.timeoutMs };
  if (options.waitForSocket !== undefined) connectOptions.waitForSocket = options.waitForSocket;
  if (options.signal !== undefined) connectOptions.signal = options.signal;
  const transport = await JsonLineTransport.connect(socketPath, connectOptions);
  const onAbort = () => transport.destroy();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    return await QmpConnection.open(transport, {
      timeoutMs: Math.max(1, options.timeoutMs - (Date.now() - started)),
      commandTimeoutMs: options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
      log: options.log ?? silentQmpLog,
    });
  } catch (error) {
    const reason: unknown = options.signal?.reason;
    if (options.signal?.aborted && reason instanceof Error && reason.name !== 'AbortError') throw reason;
    throw error;
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
}
