import type * as z from 'zod';
import { EngineError } from './errors';

/** Parses with a schema and turns a failure into an invalid-argument error naming each field. */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => {
    const path = issue.path.length > 0 ? issue.path.join('.') : '(root)';
    return `${path}: ${issue.message}`;
  });
  throw new EngineError('invalid-argument', `Invalid ${what}: ${problems.join('; ')}`, {
    details: { issues: problems },
  });
}
