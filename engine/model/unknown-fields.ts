/**
 * The schemas strip keys they do not know (so the TypeScript types stay exact); these helpers
 * put such keys back after a parse (house rule 8: a document written by a newer Virtdesk keeps
 * its extra fields through our edits) or list them (to refuse typos in what a caller gives).
 */

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Returns `parsed` with every key of `raw` the parse dropped copied back, at every depth. */
export function keepUnknownFields<T>(raw: unknown, parsed: T): T {
  if (isObject(raw) && isObject(parsed)) {
    const result: JsonObject = { ...parsed };
    for (const [key, value] of Object.entries(raw)) {
      if (value === undefined) continue;
      result[key] = key in parsed ? keepUnknownFields(value, parsed[key]) : structuredClone(value);
    }
    return result as T;
  }
  if (Array.isArray(raw) && Array.isArray(parsed) && raw.length === parsed.length) {
    return parsed.map((item, index) => keepUnknownFields(raw[index], item)) as T;
  }
  return parsed;
}

/** Dotted paths (`nics[0].modle`) of keys in `raw` that the parse dropped. */
export function unknownFieldPaths(raw: unknown, parsed: unknown, prefix = ''): string[] {
  if (isObject(raw) && isObject(parsed)) {
    return Object.entries(raw).flatMap(([key, value]) => {
      if (value === undefined) return [];
      const path = prefix === '' ? key : `${prefix}.${key}`;
      return key in parsed ? unknownFieldPaths(value, parsed[key], path) : [path];
    });
  }
  if (Array.isArray(raw) && Array.isArray(parsed) && raw.length === parsed.length) {
    return raw.flatMap((item, index) => unknownFieldPaths(item, parsed[index], `${prefix}[${index}]`));
  }
  return [];
}
