import { EngineError } from './errors';

/** The `schemaVersion` this Virtdesk writes. Bump it together with a new entry in VM_MIGRATIONS. */
export const CURRENT_SCHEMA_VERSION = 1;

export type JsonDocument = Record<string, unknown>;

/** Turns a document of version n into one of version n+1 (it need not set schemaVersion). */
export type DocumentMigration = (doc: JsonDocument) => JsonDocument;

/**
 * VM_MIGRATIONS[n] upgrades a version-n VM document to version n+1. Migrations work on raw JSON
 * (before the schema), must keep fields they do not know, and must not mutate their input.
 * Additive fields with a default need no migration: the schema fills them in.
 */
export const VM_MIGRATIONS: Readonly<Record<number, DocumentMigration>> = {};

function isObject(value: unknown): value is JsonDocument {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The generic migration loop behind migrateVmDocument (tests pass their own table). */
export function migrateDocument(
  raw: unknown,
  options: { migrations: Readonly<Record<number, DocumentMigration>>; currentVersion: number; fromVersion?: number; what?: string },
): JsonDocument {
  const what = options.what ?? 'document';
  if (!isObject(raw)) throw new EngineError('invalid-argument', `A ${what} must be a JSON object`);
  const from = options.fromVersion ?? raw.schemaVersion;
  if (typeof from !== 'number' || !Number.isInteger(from) || from < 1) {
    throw new EngineError('invalid-argument', `The ${what} has no valid schemaVersion (found ${JSON.stringify(from) ?? 'none'})`, {
      hint: `Add "schemaVersion": ${options.currentVersion} if the file was written by hand.`,
    });
  }
  if (from > options.currentVersion) {
    throw new EngineError('invalid-argument', `The ${what} was written by a newer Virtdesk (schemaVersion ${from}; this version reads up to ${options.currentVersion})`, {
      hint: 'Update Virtdesk to use it.',
    });
  }
  let doc = structuredClone(raw);
  for (let version = from; version < options.currentVersion; version++) {
    const step = options.migrations[version];
    if (step === undefined) {
      throw new EngineError('internal', `No migration of the ${what} from schemaVersion ${version} to ${version + 1}`);
    }
    doc = { ...step(doc), schemaVersion: version + 1 };
  }
  return { ...doc, schemaVersion: options.currentVersion };
}

/**
 * Brings a stored VM document up to CURRENT_SCHEMA_VERSION. `fromVersion` defaults to the
 * document's own schemaVersion. Signature fits engine/store's `migrate` option.
 */
export function migrateVmDocument(raw: JsonDocument, fromVersion?: number): JsonDocument {
  return migrateDocument(raw, {
    migrations: VM_MIGRATIONS,
    currentVersion: CURRENT_SCHEMA_VERSION,
    what: 'VM definition',
    ...(fromVersion === undefined ? {} : { fromVersion }),
  });
}
