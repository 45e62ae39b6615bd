// No zod here: the CLI's small entry bundle (main/cli.ts) imports these errors.

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

/**
 * One thing wrong with what a caller gave, tied to the field it is about when there is one:
 * a definition path such as `name`, `memory.maximumMiB` or `disks[0].source`. The one shape of
 * a problem everywhere: validation, errors on the wire, previews, the wizard and the editors.
 */
export interface Problem {
  field: string | null;
  message: string;
  hint: string | null;
}

export interface ErrorInfo {
  code: ErrorCode;
  /** What failed and why, in words a person can act on. */
  message: string;
  /** What to do next, when there is something to do. */
  hint?: string;
  /** Each problem by field, when the failure is about what the caller gave. */
  problems?: Problem[];
  details?: Record<string, unknown>;
}

export interface EngineErrorOptions {
  hint?: string;
  /** Shorthand for one problem: this error's message and hint, tied to this field. */
  field?: string;
  problems?: readonly Problem[];
  details?: Record<string, unknown>;
  cause?: unknown;
}

/** The one error type the engine throws for failures a caller should show or handle. */
export class EngineError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly problems: readonly Problem[];
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: EngineErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'EngineError';
    this.code = code;
    this.hint = options.hint;
    this.details = options.details;
    this.problems = options.problems ?? (options.field === undefined ? [] : [{ field: options.field, message, hint: options.hint ?? null }]);
  }

  toInfo(): ErrorInfo {
    const info: ErrorInfo = { code: this.code, message: this.message };
    if (this.hint !== undefined) info.hint = this.hint;
    if (this.problems.length > 0) info.problems = [...this.problems];
    if (this.details !== undefined) info.details = this.details;
    return info;
  }

  static fromInfo(info: ErrorInfo): EngineError {
    const options: EngineErrorOptions = {};
    if (info.hint !== undefined) options.hint = info.hint;
    if (info.problems !== undefined) options.problems = info.problems;
    if (info.details !== undefined) options.details = info.details;
    return new EngineError(info.code, info.message, options);
  }
}

/**
 * A write that failed because its disk is full (ENOSPC, or EDQUOT: the user's quota), said as
 * what failed and what to do; undefined for any other error. Node's fs errors name the path.
 */
export function diskFullError(error: unknown): EngineError | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, path } = error as { code?: unknown; path?: unknown };
  if (code !== 'ENOSPC' && code !== 'EDQUOT') return undefined;
  const where = typeof path === 'string' && path.includes('/') ? path.slice(0, path.lastIndexOf('/')) || '/' : undefined;
  const full = code === 'EDQUOT' ? 'your disk quota there is used up' : 'it is full';
  return new EngineError(
    'resource-exhausted',
    where ? `Could not write ${path as string}: the disk holding ${where} is full (${full}).` : `Could not write a file: the disk it is on is full (${full}).`,
    { hint: 'Free some space on that disk (unused disk images, snapshots, saved states, old ISOs), then try again.', cause: error },
  );
}

/** Turns anything thrown into ErrorInfo without leaking stack traces across the boundary. */
export function toErrorInfo(error: unknown): ErrorInfo {
  if (error instanceof EngineError) return error.toInfo();
  const full = diskFullError(error);
  if (full) return full.toInfo();
  const message = error instanceof Error ? error.message : String(error);
  return { code: 'internal', message: `Internal error: ${message}` };
}

/** The problems an error is about; an error that names no field is one problem without a field. */
export function problemsOf(error: unknown): Problem[] {
  if (error instanceof EngineError) return error.problems.length > 0 ? [...error.problems] : [{ field: null, message: error.message, hint: error.hint ?? null }];
  return [{ field: null, message: error instanceof Error ? error.message : String(error), hint: null }];
}

/**
 * Several failures as one error carrying every problem: the only one as it is, else one error
 * with `message` (default: the messages joined), the common code (else `code`), and the hints joined.
 */
export function combineErrors(errors: readonly EngineError[], options: { message?: string; code?: ErrorCode } = {}): EngineError | undefined {
  const first = errors[0];
  if (first === undefined) return undefined;
  if (errors.length === 1) return first;
  const codes = new Set(errors.map((error) => error.code));
  const hint = errors.flatMap((error) => (error.hint === undefined ? [] : [error.hint])).join(' ');
  return new EngineError(codes.size === 1 ? first.code : (options.code ?? 'invalid-argument'), options.message ?? errors.map((error) => error.message).join(' '), {
    ...(hint ? { hint } : {}),
    problems: errors.flatMap(problemsOf),
  });
}
