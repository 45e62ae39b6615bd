import { QmpClosedError, QmpCommandError, QmpProtocolError, QmpTimeoutError } from './errors';
import { mapQmpEvent, type VmDomainEvent } from './events';
import type { QmpLog } from './log';
import type { JsonLineTransport, JsonObject } from './transport';

export interface QmpGreeting {
  version: { major: number; minor: number; micro: number; package: string };
  /** Capabilities QEMU offers (e.g. `oob`); Virtdesk enables none of them. */
  capabilities: string[];
}

export type QmpEventListener = (event: VmDomainEvent) => void;
export type QmpCloseListener = (info: { error: Error | undefined }) => void;

interface Pending {
  command: string;
  resolve(value: unknown): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

/**
 * The QMP protocol over a line transport: greeting, capabilities negotiation, command ids,
 * replies matched by id, per-command timeouts, events to listeners, and every pending
 * command rejected when the connection closes.
 */
export class QmpConnection {
  private readonly pending = new Map<string, Pending>();
  private readonly eventListeners = new Set<QmpEventListener>();
  private readonly closeListeners = new Set<QmpCloseListener>();
  private nextId = 1;
  private closedInfo: { error: Error | undefined } | undefined;
  private closingOnPurpose = false;
  private greetingWaiter: { resolve(greeting: QmpGreeting): void; reject(error: Error): void } | undefined;
  private greetingValue: QmpGreeting | undefined;
  private greetingProblem: Error | undefined;

  private constructor(
    private readonly transport: JsonLineTransport,
    private readonly log: QmpLog,
    private readonly defaultTimeoutMs: number,
    private readonly idPrefix: string,
  ) {
    transport.attach({
      message: (message) => this.onMessage(message),
      invalidLine: (line, error) => this.log.warn(`QMP line ignored (${error.message}): ${line.slice(0, 200)}`),
      close: (error) => this.handleClose(error),
    });
  }

  /** Reads the greeting and negotiates capabilities within `timeoutMs`. Closes the transport on failure. */
  static async open(
    transport: JsonLineTransport,
    options: { timeoutMs: number; commandTimeoutMs: number; log: QmpLog; idPrefix?: string },
  ): Promise<QmpConnection> {
    const connection = new QmpConnection(transport, options.log, options.commandTimeoutMs, options.idPrefix ?? 'vd');
    const started = Date.now();
    try {
      await connection.waitForGreeting(options.timeoutMs);
      const remaining = Math.max(1, options.timeoutMs - (Date.now() - started));
      await connection.send('qmp_capabilities', {}, remaining);
      return connection;
    } catch (error) {
      transport.destroy();
      throw error;
    }
  }

  get greeting(): QmpGreeting {
    if (!this.greetingValue) throw new Error('QMP greeting not received yet');
    return this.greetingValue;
  }

  get closed(): boolean {
    return this.closedInfo !== undefined;
  }

  /** Sends one command and resolves with its `return` value. */
  send(command: string, args: JsonObject | undefined, timeoutMs = this.defaultTimeoutMs): Promise<unknown> {
    if (this.closedInfo) return Promise.reject(new QmpClosedError(command, 'the QMP connection is closed'));
    const id = `${this.idPrefix}-${this.nextId++}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new QmpTimeoutError(command, timeoutMs));
      }, timeoutMs);
      this.pending.set(id, { command, resolve, reject, timer });
      const message: JsonObject = { execute: command, id };
      if (args !== undefined && Object.keys(args).length > 0) message['arguments'] = args;
      try {
        this.transport.send(message);
      } catch {
        this.settle(id)?.reject(new QmpClosedError(command, 'the QMP connection is closed'));
      }
    });
  }

  onEvent(listener: QmpEventListener): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  /** Called once when the connection closes; called at once if it already has. */
  onClose(listener: QmpCloseListener): () => void {
    if (this.closedInfo) {
      listener(this.closedInfo);
      return () => {};
    }
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  whenClosed(): Promise<void> {
    return this.transport.whenClosed();
  }

  async close(): Promise<void> {
    this.closingOnPurpose = true;
    await this.transport.close();
  }

  private waitForGreeting(timeoutMs: number): Promise<QmpGreeting> {
    if (this.greetingValue) return Promise.resolve(this.greetingValue);
    if (this.greetingProblem) return Promise.reject(this.greetingProblem);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.greetingWaiter = undefined;
        reject(new QmpProtocolError(`QEMU sent no QMP greeting within ${timeoutMs} ms`));
      }, timeoutMs);
      this.greetingWaiter = {
        resolve: (greeting) => {
          clearTimeout(timer);
          resolve(greeting);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
    });
  }

  private onMessage(message: JsonObject): void {
    if ('QMP' in message) {
      this.onGreeting(message['QMP']);
      return;
    }
    if (!this.greetingValue) {
      this.greetingFailed(new QmpProtocolError('QEMU spoke before its QMP greeting', { message: JSON.stringify(message).slice(0, 200) }));
      return;
    }
    if (typeof message['event'] === 'string') {
      this.onEventMessage(message);
      return;
    }
    if ('return' in message || 'error' in message) {
      this.onReply(message);
      return;
    }
    this.log.warn(`QMP message of unknown kind ignored: ${JSON.stringify(message).slice(0, 200)}`);
  }

  private onGreeting(body: unknown): void {
    if (this.greetingValue || this.greetingProblem) {
      this.log.warn('A second QMP greeting was ignored');
      return;
    }
    const greeting = parseGreeting(body);
    if (!greeting) {
      this.greetingFailed(new QmpProtocolError('QEMU sent a malformed QMP greeting', { greeting: JSON.stringify(body).slice(0, 200) }));
      return;
    }
    this.greetingValue = greeting;
    const waiter = this.greetingWaiter;
    this.greetingWaiter = undefined;
    waiter?.resolve(greeting);
  }

  /** Records why the greeting never came (the first reason wins) and tells a waiter. */
  private greetingFailed(error: Error): void {
    if (this.greetingValue || this.greetingProblem) return;
    this.greetingProblem = error;
    const waiter = this.greetingWaiter;
    this.greetingWaiter = undefined;
    waiter?.reject(error);
  }

  private onReply(message: JsonObject): void {
    const id = message['id'];
    if (typeof id !== 'string') {
      // QEMU answers input it could not parse with an id-less error.
      const error = message['error'] as { desc?: unknown } | undefined;
      this.log.warn(`QMP reply without an id ignored${error ? `: ${String(error.desc)}` : ''}`);
      return;
    }
    const pending = this.settle(id);
    if (!pending) {
      this.log.debug(`QMP reply for ${id} arrived after its command timed out; dropped`);
      return;
    }
    if ('error' in message) {
      const error = (message['error'] ?? {}) as { class?: unknown; desc?: unknown };
      pending.reject(
        new QmpCommandError(
          pending.command,
          typeof error.class === 'string' ? error.class : 'GenericError',
          typeof error.desc === 'string' ? error.desc : 'QEMU gave no description',
        ),
      );
    } else {
      pending.resolve(message['return']);
    }
  }

  private onEventMessage(message: JsonObject): void {
    const event = mapQmpEvent(message, this.log);
    if (!event) return;
    for (const listener of [...this.eventListeners]) {
      try {
        listener(event);
      } catch (error) {
        this.log.warn(`A QMP event listener threw on ${event.type}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }

  private settle(id: string): Pending | undefined {
    const pending = this.pending.get(id);
    if (!pending) return undefined;
    this.pending.delete(id);
    clearTimeout(pending.timer);
    return pending;
  }

  private handleClose(error: Error | undefined): void {
    if (this.closedInfo) return;
    this.closedInfo = { error };
    this.greetingFailed(new QmpClosedError(undefined, 'QEMU closed the QMP connection before its greeting'));
    const why = this.closingOnPurpose ? 'the QMP client was closed' : 'QEMU closed the QMP connection before replying';
    for (const id of [...this.pending.keys()]) {
      const pending = this.settle(id)!;
      pending.reject(new QmpClosedError(pending.command, why));
    }
    for (const listener of [...this.closeListeners]) {
      try {
        listener(this.closedInfo);
      } catch (listenerError) {
        this.log.warn(`A QMP close listener threw: ${listenerError instanceof Error ? listenerError.message : String(listenerError)}`);
      }
    }
    this.closeListeners.clear();
  }
}

function parseGreeting(body: unknown): QmpGreeting | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const { version, capabilities } = body as { version?: unknown; capabilities?: unknown };
  if (typeof version !== 'object' || version === null) return undefined;
  const { qemu, package: pkg } = version as { qemu?: { major?: unknown; minor?: unknown; micro?: unknown }; package?: unknown };
  if (typeof qemu?.major !== 'number' || typeof qemu.minor !== 'number' || typeof qemu.micro !== 'number') return undefined;
  return {
    version: { major: qemu.major, minor: qemu.minor, micro: qemu.micro, package: typeof pkg === 'string' ? pkg : '' },
    capabilities: Array.isArray(capabilities) ? capabilities.filter((c): c is string => typeof c === 'string') : [],
  };
}
