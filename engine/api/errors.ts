/** Error codes that cross process boundaries. Every error a person may see carries one. */
export const ERROR_CODES = [
  'invalid-argument',
  'not-found',
  'already-exists',
  'conflict',
  'invalid-state',
  'unavailable',
  'permission-denied',
  'resource-exhausted',
  'cancelled',
  'timeout',
  'qemu-error',
  'internal',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface ErrorInfo {
  code: ErrorCode;
  /** What failed and why, in words a person can act on. */
  message: string;
  /** What to do next, when there is something to do. */
  hint?: string;
  details?: Record<string, unknown>;
}

/** The one error type the engine throws for failures a caller should show or handle. */
export class EngineError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: { hint?: string; details?: Record<string, unknown>; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'EngineError';
    this.code = code;
    this.hint = options.hint;
    this.details = options.details;
  }

  toInfo(): ErrorInfo {
    const info: ErrorInfo = { code: this.code, message: this.message };
    if (this.hint !== undefined) info.hint = this.hint;
    if (this.details !== undefined) info.details = this.details;
    return info;
  }

  static fromInfo(info: ErrorInfo): EngineError {
    const options: { hint?: string; details?: Record<string, unknown> } = {};
    if (info.hint !== undefined) options.hint = info.hint;
    if (info.details !== undefined) options.details = info.details;
    return new EngineError(info.code, info.message, options);
  }
}

/** Turns anything thrown into ErrorInfo without leaking stack traces across the boundary. */
export function toErrorInfo(error: unknown): ErrorInfo {
  if (error instanceof EngineError) return error.toInfo();
  const message = error instanceof Error ? error.message : String(error);
  return { code: 'internal', message: `Internal error: ${message}` };
}
