/**
 * The JSON merge patch (RFC 7386) that turns `before` into `after`: changed object members
 * recursively, removed members as null, arrays and other values whole. Undefined when nothing
 * changed, so editors send only what the user changed (house rule 8).
 */
export function mergePatch(before: unknown, after: unknown): unknown {
  if (isPlainObject(before) && isPlainObject(after)) {
    const patch: Record<string, unknown> = {};
    for (const key of Object.keys(after)) {
      const inner = mergePatch(before[key], after[key]);
      if (inner !== undefined) patch[key] = inner;
    }
    for (const key of Object.keys(before)) if (!(key in after) || after[key] === undefined) if (before[key] !== undefined) patch[key] = null;
    return Object.keys(patch).length > 0 ? patch : undefined;
  }
  if (jsonEqual(before, after)) return undefined;
  return after === undefined ? null : after;
}

export function jsonEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
