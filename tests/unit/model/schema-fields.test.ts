import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { listSchemaFields, valuesAtPath, vmDefinitionSchema } from '../../../engine/model';

describe('listSchemaFields', () => {
  it('walks objects, arrays, unions, defaults and optionals', () => {
    const schema = z.object({
      a: z.boolean().default(true),
      b: z.object({ c: z.enum(['x', 'y']).default('y'), d: z.number().optional() }).prefault({}),
      list: z.array(z.discriminatedUnion('kind', [z.object({ kind: z.literal('p'), q: z.string() }), z.object({ kind: z.literal('r') })])),
    });
    expect(listSchemaFields(schema)).toEqual([
      { path: 'a', type: 'boolean', hasDefault: true, default: true, optional: false },
      { path: 'b.c', type: 'enum', options: ['x', 'y'], hasDefault: true, default: 'y', optional: false },
      { path: 'b.d', type: 'number', hasDefault: false, optional: true },
      { path: 'list[]{kind=p}.kind', type: 'literal', options: ['p'], hasDefault: false, optional: false },
      { path: 'list[]{kind=p}.q', type: 'string', hasDefault: false, optional: false },
      { path: 'list[]{kind=r}.kind', type: 'literal', options: ['r'], hasDefault: false, optional: false },
    ]);
  });

  it('lists the VM definition fields, every one a known leaf type', () => {
    const fields = listSchemaFields(vmDefinitionSchema);
    expect(fields.map((f) => f.path)).toContain('nics[].network{kind=user}.portForwards[].protocol');
    expect(fields.filter((f) => f.type === 'other')).toEqual([]);
  });
});

describe('valuesAtPath', () => {
  const doc = { nics: [{ network: { kind: 'user', portForwards: [{ p: 1 }, { p: 2 }] } }, { network: { kind: 'link', name: 'w' } }], x: null };
  it('fans out arrays and filters union members', () => {
    expect(valuesAtPath(doc, 'nics[].network{kind=user}.portForwards[].p')).toEqual([1, 2]);
    expect(valuesAtPath(doc, 'nics[].network{kind=link}.name')).toEqual(['w']);
    expect(valuesAtPath(doc, 'missing.deep')).toEqual([]);
    expect(valuesAtPath(doc, 'x')).toEqual([null]);
  });
});
