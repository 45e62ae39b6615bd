import type * as z from 'zod';

/** One leaf field of a schema, e.g. `nics[].network{kind=user}.portForwards[].protocol`. */
export interface SchemaField {
  path: string;
  type: 'enum' | 'boolean' | 'literal' | 'string' | 'number' | 'other';
  /** Enum options or literal values. */
  options?: readonly unknown[];
  hasDefault: boolean;
  default?: unknown;
  /** Optional or nullable: a value may be absent. */
  optional: boolean;
}

interface Def {
  type: string;
  innerType?: z.ZodType;
  defaultValue?: unknown;
  in?: z.ZodType;
  shape?: Record<string, z.ZodType>;
  element?: z.ZodType;
  options?: readonly z.ZodType[];
  discriminator?: string;
  entries?: Record<string, unknown>;
  values?: readonly unknown[];
}

const defOf = (schema: z.ZodType): Def => (schema as unknown as { def: Def }).def;

/**
 * Every leaf field of an object schema, walking objects, arrays (`[]`), discriminated unions
 * (`{kind=user}`), defaults, optionals and pipes. Used to prove tests cover every field.
 */
export function listSchemaFields(schema: z.ZodType): SchemaField[] {
  const fields: SchemaField[] = [];
  walk(schema, '', { hasDefault: false, optional: false }, fields);
  return fields;
}

function walk(schema: z.ZodType, path: string, flags: { hasDefault: boolean; default?: unknown; optional: boolean }, out: SchemaField[]): void {
  const def = defOf(schema);
  switch (def.type) {
    case 'default':
    case 'prefault':
      walk(def.innerType!, path, { ...flags, hasDefault: true, default: flags.hasDefault ? flags.default : def.defaultValue }, out);
      return;
    case 'optional':
    case 'nullable':
      walk(def.innerType!, path, { ...flags, optional: true }, out);
      return;
    case 'pipe':
      walk(def.in!, path, flags, out);
      return;
    case 'object':
      for (const [key, child] of Object.entries(def.shape!)) {
        const childPath = path === '' ? key : `${path}.${key}`;
        const parentDefault = flags.hasDefault && isObject(flags.default) ? flags.default : undefined;
        walk(child, childPath, { hasDefault: parentDefault !== undefined && key in parentDefault, default: parentDefault?.[key], optional: false }, out);
      }
      return;
    case 'array':
      walk(def.element!, `${path}[]`, { hasDefault: false, optional: false }, out);
      return;
    case 'union': {
      const discriminator = def.discriminator;
      for (const option of def.options!) {
        const tag = discriminator === undefined ? undefined : literalOf(option, discriminator);
        walk(option, tag === undefined ? path : `${path}{${discriminator}=${String(tag)}}`, { hasDefault: false, optional: false }, out);
      }
      return;
    }
    case 'enum':
      out.push({ path, type: 'enum', options: Object.values(def.entries!), ...leafFlags(flags) });
      return;
    case 'literal':
      out.push({ path, type: 'literal', options: def.values!, ...leafFlags(flags) });
      return;
    case 'boolean':
    case 'string':
    case 'number':
      out.push({ path, type: def.type, ...leafFlags(flags) });
      return;
    default:
      out.push({ path, type: 'other', ...leafFlags(flags) });
  }
}

function leafFlags(flags: { hasDefault: boolean; default?: unknown; optional: boolean }): Pick<SchemaField, 'hasDefault' | 'default' | 'optional'> {
  return flags.hasDefault ? { hasDefault: true, default: flags.default, optional: flags.optional } : { hasDefault: false, optional: flags.optional };
}

function literalOf(option: z.ZodType, key: string): unknown {
  const def = defOf(option);
  const child = def.shape?.[key];
  return child === undefined ? undefined : defOf(child).values?.[0];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Every value found at a field path (as listed by listSchemaFields) inside a document: arrays
 * fan out, `{kind=user}` keeps only matching union members, absent values are skipped.
 */
export function valuesAtPath(document: unknown, path: string): unknown[] {
  const segments = path.match(/\[\]|\{[^}]*\}|[^.[{]+/g) ?? [];
  let current: unknown[] = [document];
  for (const segment of segments) {
    if (segment === '[]') {
      current = current.flatMap((value) => (Array.isArray(value) ? value : []));
    } else if (segment.startsWith('{')) {
      const [key, tag] = segment.slice(1, -1).split('=') as [string, string];
      current = current.filter((value) => isObject(value) && String(value[key]) === tag);
    } else {
      current = current.flatMap((value) => (isObject(value) && value[segment] !== undefined ? [value[segment]] : []));
    }
  }
  return current;
}
