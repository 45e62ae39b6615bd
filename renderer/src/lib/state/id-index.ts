/**
 * Read-only lookups built from a list in one pass. They are rebuilt (not mutated) when the list
 * changes, so they need no reactivity of their own.
 */
export function indexById<T extends { id: string }>(items: readonly T[]): ReadonlyMap<string, T> {
  return new Map(items.map((item) => [item.id, item]));
}

export function setOf(ids: readonly string[]): ReadonlySet<string> {
  return new Set(ids);
}
