import type {
  ExecuteRest,
  QmpBlockInfo,
  QmpBlockStats,
  QmpCommandName,
  QmpCpuDefinitionInfo,
  QmpCpuInfoFast,
  QmpDeviceProps,
  QmpMachineInfo,
  QmpObjectTypeInfo,
  QmpResult,
  QmpRunState,
  QmpVersionInfo,
} from './commands';
import { QmpConnection, type QmpCloseListener, type QmpEventListener, type QmpGreeting } from './connection';
import { QmpClosedError } from './errors';
import { silentQmpLog, type QmpLog } from './log';
import { JsonLineTransport, type JsonObject } from './transport';

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

/** A VM's run state as QMP `query-status` reports it. */
export interface QmpVmStatus {
  running: boolean;
  state: QmpRunState;
}

/**
 * A QMP client for one QEMU process. `execute` is typed by the command table in ./commands;
 * the methods below it are thin typed wrappers for the commands the engine uses most.
 */
export class QmpClient {
  private constructor(
    private readonly connection: QmpConnection,
    readonly socketPath: string,
  ) {}

  static async connect(socketPath: string, options: QmpConnectOptions): Promise<QmpClient> {
    const started = Date.now();
    const connectOptions: { timeoutMs: number; waitForSocket?: boolean; signal?: AbortSignal } = { timeoutMs: options.timeoutMs };
    if (options.waitForSocket !== undefined) connectOptions.waitForSocket = options.waitForSocket;
    if (options.signal !== undefined) connectOptions.signal = options.signal;
    const transport = await JsonLineTransport.connect(socketPath, connectOptions);
    const onAbort = () => transport.destroy();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const connection = await QmpConnection.open(transport, {
        timeoutMs: Math.max(1, options.timeoutMs - (Date.now() - started)),
        commandTimeoutMs: options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
        log: options.log ?? silentQmpLog,
      });
      return new QmpClient(connection, socketPath);
    } catch (error) {
      const reason: unknown = options.signal?.reason;
      if (options.signal?.aborted && reason instanceof Error && reason.name !== 'AbortError') throw reason;
      throw error;
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
    }
  }

  /** QEMU's version and capabilities from the greeting. */
  get greeting(): QmpGreeting {
    return this.connection.greeting;
  }

  get closed(): boolean {
    return this.connection.closed;
  }

  /** Runs one QMP command; rejects with QmpCommandError, QmpTimeoutError or QmpClosedError. */
  execute<C extends QmpCommandName>(command: C, ...rest: ExecuteRest<C>): Promise<QmpResult<C>> {
    const [args, options] = rest;
    return this.connection.send(command, args as JsonObject | undefined, options?.timeoutMs) as Promise<QmpResult<C>>;
  }

  /** Domain events (already mapped from QMP) as they arrive. Returns an unsubscribe function. */
  onEvent(listener: QmpEventListener): () => void {
    return this.connection.onEvent(listener);
  }

  onClose(listener: QmpCloseListener): () => void {
    return this.connection.onClose(listener);
  }

  /** Resolves when the connection has closed (QEMU exited, or `close()`). */
  whenClosed(): Promise<void> {
    return this.connection.whenClosed();
  }

  /** Closes our side; pending commands are rejected. QEMU keeps running. */
  close(): Promise<void> {
    return this.connection.close();
  }

  // ---- thin typed wrappers ----

  async queryStatus(): Promise<QmpVmStatus> {
    const status = await this.execute('query-status');
    return { running: status.running, state: status.status };
  }

  async cont(): Promise<void> {
    await this.execute('cont');
  }

  async stop(): Promise<void> {
    await this.execute('stop');
  }

  /** Presses the ACPI power button. */
  async systemPowerdown(): Promise<void> {
    await this.execute('system_powerdown');
  }

  async systemReset(): Promise<void> {
    await this.execute('system_reset');
  }

  /** Asks QEMU to exit and waits for the connection to close. A close before the reply is success. */
  async quit(timeoutMs = 10_000): Promise<void> {
    try {
      await this.execute('quit', {}, { timeoutMs });
    } catch (error) {
      if (!(error instanceof QmpClosedError)) throw error;
    }
    await Promise.race([this.whenClosed(), new Promise((resolve) => setTimeout(resolve, timeoutMs).unref())]);
  }

  /** Writes the primary display to `path` as PNG. */
  async screendumpPng(path: string, options: { device?: string; head?: number } = {}): Promise<void> {
    await this.execute('screendump', { filename: path, format: 'png', ...options });
  }

  /** Presses keys together, by QEMU qcode (e.g. `['ctrl', 'alt', 'delete']`). */
  async sendKeys(qcodes: readonly string[], holdTimeMs?: number): Promise<void> {
    const args: { keys: { type: 'qcode'; data: string }[]; 'hold-time'?: number } = { keys: qcodes.map((data) => ({ type: 'qcode', data })) };
    if (holdTimeMs !== undefined) args['hold-time'] = holdTimeMs;
    await this.execute('send-key', args);
  }

  humanMonitorCommand(commandLine: string): Promise<string> {
    return this.execute('human-monitor-command', { 'command-line': commandLine });
  }

  queryVersion(): Promise<QmpVersionInfo> {
    return this.execute('query-version');
  }

  queryMachines(): Promise<QmpMachineInfo[]> {
    return this.execute('query-machines');
  }

  queryCpuDefinitions(): Promise<QmpCpuDefinitionInfo[]> {
    return this.execute('query-cpu-definitions');
  }

  /** QOM type names, optionally only those implementing `implementsType` (e.g. `device`). */
  async listTypes(implementsType?: string, includeAbstract = false): Promise<QmpObjectTypeInfo[]> {
    const args: { implements?: string; abstract?: boolean } = { abstract: includeAbstract };
    if (implementsType !== undefined) args.implements = implementsType;
    return this.execute('qom-list-types', args);
  }

  queryKvm(): Promise<{ enabled: boolean; present: boolean }> {
    return this.execute('query-kvm');
  }

  queryCpusFast(): Promise<QmpCpuInfoFast[]> {
    return this.execute('query-cpus-fast');
  }

  queryBlock(): Promise<QmpBlockInfo[]> {
    return this.execute('query-block');
  }

  queryBlockStats(): Promise<QmpBlockStats[]> {
    return this.execute('query-blockstats', {});
  }

  /** Current balloon size in bytes. */
  async queryBalloonBytes(): Promise<number> {
    return (await this.execute('query-balloon')).actual;
  }

  async setBalloonBytes(bytes: number): Promise<void> {
    await this.execute('balloon', { value: bytes });
  }

  async setVncPassword(password: string): Promise<void> {
    await this.execute('set_password', { protocol: 'vnc', password });
  }

  /** `time`: `now`, `never`, `+SECONDS` or an absolute UNIX time, as QEMU takes it. */
  async expireVncPassword(time: string): Promise<void> {
    await this.execute('expire_password', { protocol: 'vnc', time });
  }

  async deviceAdd(props: QmpDeviceProps): Promise<void> {
    await this.execute('device_add', props);
  }

  /** Requests unplug; completion is the `deviceDeleted` event. */
  async deviceDel(id: string): Promise<void> {
    await this.execute('device_del', { id });
  }

  async queryName(): Promise<string | undefined> {
    return (await this.execute('query-name')).name;
  }

  async queryUuid(): Promise<string> {
    return (await this.execute('query-uuid')).UUID;
  }
}
