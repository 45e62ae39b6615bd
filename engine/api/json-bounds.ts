import type * as z from 'zod';
import { EngineError } from './errors';
import { formatBytes } from '../model/bytes';

/**
 * Largest RPC message a host accepts, in bytes of JSON text. The page's largest call (a whole VM
 * definition, for create or update) is a few KiB; results (screenshots) flow the other way.
 */
export const MAX_RPC_MESSAGE_BYTES = 1024 * 1024;

/** Deepest nesting of objects and arrays in an RPC message. A VM definition nests about 5 deep. */
export const MAX_RPC_MESSAGE_DEPTH = 64;

export interface JsonBounds {
  maxDepth: number;
  maxBytes: number;
}

/**
 * How deeply `value` nests objects and arrays (a scalar is 0, `{}` is 1), counted without
 * recursion so that a hostile 100 000-deep value cannot overflow the stack. Stops counting once
 * past `limit` and returns `limit + 1`.
 */
export function nestingDepth(value: unknown, limit = Number.POSITIVE_INFINITY): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!;
    if (typeof current !== 'object' || current === null) continue;
    const here = depth + 1;
    if (here > deepest) deepest = here;
    if (deepest > limit) return limit + 1;
    for (const child of Array.isArray(current) ? current : Object.values(current)) {
      if (typeof child === 'object' && child !== null) stack.push([child, here]);
    }
  }
  return deepest;
}

/** What is wrong with a JSON-able value against the bounds, in words; undefined when within them. */
export function jsonBoundsProblem(value: unknown, bounds: JsonBounds, what: string): string | undefined {
  const depth = nestingDepth(value, bounds.maxDepth);
  if (depth > bounds.maxDepth) return `${what} nests objects and arrays more than ${bounds.maxDepth} levels deep; at most ${bounds.maxDepth} are accepted`;
  // Safe only now: JSON.stringify recurses, and the depth check bounded that recursion.
  const bytes = utf8Length(JSON.stringify(value) ?? '');
  if (bytes > bounds.maxBytes) return `${what} is ${bytes} bytes of JSON; at most ${bounds.maxBytes} (${formatBytes(bounds.maxBytes)}) are accepted`;
  return undefined;
}

/** A zod refinement that adds the bounds problem as an issue. */
export function withinJsonBounds(bounds: JsonBounds, what: string): (value: unknown, context: z.RefinementCtx) => void {
  return (value, context) => {
    const problem = jsonBoundsProblem(value, bounds, what);
    if (problem) context.addIssue({ code: 'custom', message: problem });
  };
}

/** Throws an invalid-argument error when the value is deeper or larger than the bounds. */
export function assertJsonBounds(value: unknown, bounds: JsonBounds, what: string, hint: string): void {
  const problem = jsonBoundsProblem(value, bounds, what);
  if (problem) throw new EngineError('invalid-argument', `${capitalize(problem)}.`, { hint, details: { ...bounds } });
}

/** Bytes of `text` in UTF-8 (engine/api is bundled into the page, so no Buffer). */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}


function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
