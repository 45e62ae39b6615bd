import { describe, expect, it } from 'vitest';
import { CURRENT_SCHEMA_VERSION, migrateDocument, migrateVmDocument, parseVmDefinition, VM_MIGRATIONS } from '../../../engine/model';
import { thrown } from './helpers';

describe('migrateVmDocument', () => {
  it('has a step for every version below the current one', () => {
    for (let v = 1; v < CURRENT_SCHEMA_VERSION; v++) expect(VM_MIGRATIONS[v]).toBeTypeOf('function');
  });

  it('returns a current document as a copy', () => {
    const doc = { schemaVersion: CURRENT_SCHEMA_VERSION, name: 'x', extra: { a: 1 } };
    const out = migrateVmDocument(doc);
    expect(out).toEqual(doc);
    expect(out).not.toBe(doc);
    expect(out.extra).not.toBe(doc.extra);
  });

  it('refuses a document from a newer Virtdesk and one without a version', () => {
    expect(thrown(() => migrateVmDocument({ schemaVersion: CURRENT_SCHEMA_VERSION + 1 })).message).toMatch(/written by a newer Virtdesk/);
    expect(thrown(() => migrateVmDocument({ name: 'x' })).message).toMatch(/no valid schemaVersion/);
    expect(thrown(() => migrateVmDocument({ schemaVersion: '1' })).message).toMatch(/no valid schemaVersion/);
  });

  it('accepts the fromVersion the store passes', () => {
    expect(migrateVmDocument({ name: 'x' }, CURRENT_SCHEMA_VERSION)).toEqual({ name: 'x', schemaVersion: CURRENT_SCHEMA_VERSION });
  });
});

describe('migrateDocument (the hook behind it)', () => {
  const migrations = {
    1: (doc: Record<string, unknown>) => ({ ...doc, memory: { maximumMiB: doc.memoryMiB, currentMiB: doc.memoryMiB }, memoryMiB: undefined }),
    2: (doc: Record<string, unknown>) => ({ ...doc, renamed: doc.old, old: undefined }),
  };

  it('runs each step in order, sets the version, keeps unknown fields and does not mutate the input', () => {
    const raw = { schemaVersion: 1, memoryMiB: 512, old: 'v', keep: [1, 2] };
    const out = migrateDocument(raw, { migrations, currentVersion: 3 });
    expect(out).toEqual({ schemaVersion: 3, memory: { maximumMiB: 512, currentMiB: 512 }, memoryMiB: undefined, renamed: 'v', old: undefined, keep: [1, 2] });
    expect(raw).toEqual({ schemaVersion: 1, memoryMiB: 512, old: 'v', keep: [1, 2] });
  });

  it('starts at the document version', () => {
    expect(migrateDocument({ schemaVersion: 2, old: 1 }, { migrations, currentVersion: 3 })).toEqual({ schemaVersion: 3, renamed: 1, old: undefined });
  });

  it('fails with internal when a step is missing', () => {
    expect(thrown(() => migrateDocument({ schemaVersion: 1 }, { migrations: {}, currentVersion: 2 })).code).toBe('internal');
  });
});

describe('parseVmDefinition runs the migration', () => {
  it('refuses a newer document instead of guessing', () => {
    const error = thrown(() => parseVmDefinition({ schemaVersion: 99, name: 'x' }));
    expect(error.code).toBe('invalid-argument');
    expect(error.hint).toMatch(/Update Virtdesk/);
  });
});
