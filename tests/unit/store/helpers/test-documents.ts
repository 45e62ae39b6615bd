import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as z from 'zod';
import { parseOrThrow } from '../../../../engine/model/parse';
import { EngineError } from '../../../../engine/api/errors';
import { createDocumentStore, type DocumentStoreOptions, type JsonObject, type UniquenessCheck } from '../../../../engine/store';

/** A stand-in for a real definition: what the store needs plus nested parts and defaults. */
export const TEST_SCHEMA_VERSION = 2;

const nicSchema = z.object({ mac: z.string(), model: z.string().default('virtio') });
const testDocSchema = z.object({
  schemaVersion: z.literal(TEST_SCHEMA_VERSION),
  id: z.uuid(),
  name: z.string().min(1).max(64),
  description: z.string().optional(),
  memoryMiB: z.number().int().positive().default(512),
  counter: z.number().int().default(0),
  nics: z.array(nicSchema).default([]),
});

export type TestDoc = z.output<typeof testDocSchema>;

export function parseTestDoc(raw: unknown): TestDoc {
  return parseOrThrow(testDocSchema, raw, 'test definition');
}

/** Version 1 stored memory in bytes as `memoryBytes`. */
export function migrateTestDoc(raw: JsonObject, fromVersion: number): JsonObject {
  if (fromVersion !== 1) throw new Error(`no migration from version ${fromVersion}`);
  const { memoryBytes, ...rest } = raw;
  const migrated: JsonObject = { ...rest, schemaVersion: 2 };
  if (typeof memoryBytes === 'number') migrated.memoryMiB = Math.round(memoryBytes / 1024 / 1024);
  return migrated;
}

export const uniqueMacs: UniquenessCheck<TestDoc> = (candidate, others) => {
  for (const nic of candidate.nics) {
    const owner = others.find((other) => other.nics.some((theirs) => theirs.mac === nic.mac));
    if (owner) throw new EngineError('already-exists', `MAC ${nic.mac} is already used by ${owner.name}`);
  }
};

export function testStoreOptions(root: string, extra: Partial<DocumentStoreOptions<TestDoc>> = {}): DocumentStoreOptions<TestDoc> {
  return {
    root,
    kind: 'vm',
    label: 'VM',
    fileName: 'vm.json',
    parse: parseTestDoc,
    migrate: migrateTestDoc,
    currentVersion: TEST_SCHEMA_VERSION,
    checkUnique: uniqueMacs,
    ...extra,
  };
}

export function openTestStore(root: string, extra: Partial<DocumentStoreOptions<TestDoc>> = {}) {
  return createDocumentStore(testStoreOptions(root, extra));
}

/** A `parse` for openTestStore that calls `onParse` for every document it parses (tests counting re-reads). */
export function countingParse(onParse: () => void): (raw: unknown) => TestDoc {
  return (raw) => {
    onParse();
    return parseTestDoc(raw);
  };
}

export function newDoc(name: string, extra: Partial<TestDoc> = {}): TestDoc {
  return parseTestDoc({ schemaVersion: TEST_SCHEMA_VERSION, id: crypto.randomUUID(), name, ...extra });
}

/** A temp VIRTDESK_HOME with a `vms` store root; `cleanup` removes it. */
export async function makeTempHome(): Promise<{ home: string; root: string; cleanup: () => Promise<void> }> {
  const home = await mkdtemp(join(tmpdir(), 'virtdesk-store-'));
  return { home, root: join(home, 'vms'), cleanup: () => rm(home, { recursive: true, force: true }) };
}
