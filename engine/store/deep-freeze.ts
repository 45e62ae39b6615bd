/**
 * A private, frozen copy of a parsed document, safe to hand to many readers: the copy shares no
 * object with the parser's output (a schema default may be a shared object), and freezing makes a
 * reader that changes it throw instead of silently changing every later reader's view.
 */
export function frozenCopy<T>(value: T): T {
  return deepFreeze(structuredClone(value));
}

function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
  return Object.freeze(value);
}
