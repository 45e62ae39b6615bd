/**
 * House rule 8: an edit applies only the fields that changed and keeps the rest of the stored
 * JSON as it was, including fields this version's parser does not know (and would drop).
 */

export type JsonObject = Record<string, unknown>;

export function isPlainObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((item, i) => deepEqual(item, b[i]));
  }
  if (isPlainObject(a) && isPlainObject(b)) {
    const keysA = Object.keys(a).filter((key) => a[key] !== undefined);
    const keysB = Object.keys(b).filter((key) => b[key] !== undefined);
    return keysA.length === keysB.length && keysA.every((key) => deepEqual(a[key], b[key]));
  }
  return false;
}

/**
 * Carries the difference between `before` and `after` (both parsed documents) onto `stored`
 * (the raw JSON they were parsed from). Unchanged parts keep their stored form; objects are
 * merged key by key; array items that only moved keep their stored form too.
 */
export function mergeChanges(stored: unknown, before: unknown, after: unknown): unknown {
  if (deepEqual(before, after)) return stored;
  if (isPlainObject(before) && isPlainObject(after) && isPlainObject(stored)) {
    const result: JsonObject = { ...stored };
    for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
      // Unchanged keys stay as stored, even absent ones the parser filled with a default.
      if (deepEqual(before[key], after[key])) continue;
      if (after[key] === undefined) delete result[key];
      else result[key] = mergeChanges(stored[key], before[key], after[key]);
    }
    return result;
  }
  if (Array.isArray(before) && Array.isArray(after) && Array.isArray(stored) && stored.length === before.length) {
    return mergeArray(stored, before, after);
  }
  return after;
}

function mergeArray(stored: unknown[], before: unknown[], after: unknown[]): unknown[] {
  const used = new Set<number>();
  const sameLength = before.length === after.length;
  return after.map((item, index) => {
    // An item equal to one that was there before (e.g. after a removal shifted it) keeps its stored form.
    const match = before.findIndex((old, j) => !used.has(j) && deepEqual(old, item));
    if (match >= 0) {
      used.add(match);
      return stored[match];
    }
    // Same length: the item at this index was edited in place.
    if (sameLength && !used.has(index)) {
      used.add(index);
      return mergeChanges(stored[index], before[index], item);
    }
    return item;
  });
}
