import { EngineError } from '../../../../engine/api/errors';

/** One problem the engine tied to a field of a definition (`name`, `memory.maximumMiB`, `disks[0].source`). */
export interface FieldProblem {
  field: string;
  message: string;
  hint?: string;
}

/** What a person sees of a failure: the engine's message and hint; never a stack trace. */
export interface ErrorText {
  message: string;
  hint?: string;
}

export function errorText(error: unknown): ErrorText {
  if (error instanceof EngineError) return error.hint ? { message: error.message, hint: error.hint } : { message: error.message };
  if (error instanceof Error) return { message: error.message };
  return { message: String(error) };
}

/** `a: b` → ['a', 'b'] for zod issue strings made by parseOrThrow; the path is the part before the first colon. */
function splitIssue(issue: string): FieldProblem {
  const colon = issue.indexOf(': ');
  if (colon > 0 && !issue.slice(0, colon).includes(' ')) return { field: issue.slice(0, colon), message: issue.slice(colon + 2) };
  return { field: '', message: issue };
}

/**
 * The fields an EngineError names: `details.field` (cross-field rules), `details.issues`
 * (schema failures as "path: message"), `details.problems[]` (several rule failures), and
 * `details.fields` (unknown fields). Problems without a field get field ''.
 */
export function fieldProblems(error: unknown): FieldProblem[] {
  if (!(error instanceof EngineError)) return [{ field: '', ...errorText(error) }];
  const details = error.details ?? {};
  const out: FieldProblem[] = [];
  const withHint = (problem: FieldProblem, hint: unknown): FieldProblem => (typeof hint === 'string' && hint ? { ...problem, hint } : problem);
  if (typeof details.field === 'string') out.push(withHint({ field: details.field, message: error.message }, error.hint));
  if (Array.isArray(details.issues)) for (const issue of details.issues) if (typeof issue === 'string') out.push(splitIssue(issue));
  if (Array.isArray(details.problems)) {
    for (const problem of details.problems as unknown[]) {
      if (typeof problem !== 'object' || problem === null) continue;
      const info = problem as { message?: unknown; hint?: unknown; details?: { field?: unknown } };
      if (typeof info.message !== 'string') continue;
      out.push(withHint({ field: typeof info.details?.field === 'string' ? info.details.field : '', message: info.message }, info.hint));
    }
  }
  if (Array.isArray(details.fields)) {
    for (const field of details.fields) if (typeof field === 'string') out.push(withHint({ field, message: `Unknown field ${field}` }, error.hint));
  }
  if (out.length === 0) out.push({ field: '', ...errorText(error) });
  return out;
}
