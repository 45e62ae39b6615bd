import { EngineError, problemsOf, type Problem } from '../../../../engine/api/errors';

export type { Problem };
export { problemsOf };

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
