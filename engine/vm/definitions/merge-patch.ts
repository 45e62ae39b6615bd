/**
 * RFC 7396 JSON merge patch: objects merge recursively, `null` removes a field, anything else
 * (arrays included) replaces. Returns the dotted paths of the fields that actually changed.
 */
export function applyMergePatch(target: unknown, patch: unknown, path = ''): { value: unknown; changed: string[] } {
  if (!isPlainObject(patch)) return { value: patch, changed: sameJson(target, patch) ? [] : [path || '(root)'] };
  const base: Record<string, unknown> = isPlainObject(target) ? { ...target } : {};
  const changed: string[] = [];
  for (const [key, value] of Object.entries(patch)) {
    const at = path ? `${path}.${key}` : key;
    if (value === null) {
      if (key in base) {
        delete base[key];
        changed.push(at);
      }
      continue;
    }
    const merged = applyMergePatch(base[key], value, at);
    base[key] = merged.value;
    changed.push(...merged.changed);
  }
  return { value: base, changed };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
