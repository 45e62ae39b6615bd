import { EngineError } from '../../api/errors';

/** QEMU answered a command with `{"error": {"class", "desc"}}`. */
export class QmpCommandError extends EngineError {
  readonly command: string;
  /** QEMU's error class, e.g. `GenericError`, `DeviceNotFound`, `CommandNotFound`. */
  readonly errorClass: string;
  readonly description: string;

  constructor(command: string, errorClass: string, description: string) {
    super('qemu-error', `${command} failed: ${description}`, { details: { command, errorClass, description } });
    this.name = 'QmpCommandError';
    this.command = command;
    this.errorClass = errorClass;
    this.description = description;
  }
}

/** The QMP connection closed (QEMU exited, or someone closed the client) before a reply came. */
export class QmpClosedError extends EngineError {
  readonly command: string | undefined;

  constructor(command: string | undefined, why: string) {
    super('unavailable', command === undefined ? `QMP connection closed: ${why}` : `${command} failed: ${why}`, {
      details: command === undefined ? { why } : { command, why },
    });
    this.name = 'QmpClosedError';
    this.command = command;
  }
}

/** QEMU did not answer a command in time. The connection stays usable; a late reply is dropped. */
export class QmpTimeoutError extends EngineError {
  readonly command: string;

  constructor(command: string, timeoutMs: number) {
    super('timeout', `${command} failed: QEMU did not reply within ${timeoutMs} ms`, { details: { command, timeoutMs } });
    this.name = 'QmpTimeoutError';
    this.command = command;
  }
}

/** The peer broke the protocol (no greeting, capabilities refused, ...). */
export class QmpProtocolError extends EngineError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('qemu-error', message, details === undefined ? {} : { details });
    this.name = 'QmpProtocolError';
  }
}
