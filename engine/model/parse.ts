import type * as z from 'zod';
import { EngineError, type Problem } from './errors';

/** A schema issue's path as the definition paths problems use: `disks[0].source`. */
export function fieldPath(path: readonly PropertyKey[]): string {
  return path.map((part, index) => (typeof part === 'number' ? `[${part}]` : `${index === 0 ? '' : '.'}${String(part)}`)).join('');
}

/** Parses with a schema and turns a failure into an invalid-argument error with a problem per field. */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const problems: Problem[] = parsed.error.issues.map((issue) => ({ field: issue.path.length > 0 ? fieldPath(issue.path) : null, message: issue.message, hint: null }));
  // The text keeps zod's dotted paths (`disks.0.source`), as the CLI has always printed them.
  const text = parsed.error.issues.map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(root)'}: ${issue.message}`);
  throw new EngineError('invalid-argument', `Invalid ${what}: ${text.join('; ')}`, { problems });
}
