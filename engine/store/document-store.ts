/**
 * The on-disk library of definitions: one folder per document, generic over the document type so
 * VMs, networks and pools share it.
 *
 * Layout: `<root>/<id>/<fileName>` (VMs: `$VIRTDESK_HOME/vms/<id>/vm.json`). The folder belongs to
 * the document and also holds files others write there (serial.log, nvram, …); the store never
 * touches those, except when a whole document is deleted. Ids are lowercase UUIDs and nothing
 * else, so an id can never name a path outside the root. `<root>/.lock` is the writers' lock.
 *
 * Guarantees:
 * - Every write is atomic (temp file in the same folder, fsync, rename, fsync folder): after a
 *   crash at any moment a file is the old or the new version, and an acknowledged write is kept.
 * - Every mutation (create, update, rename, delete) runs under one cross-process lock (the CLI and
 *   the app host write the same store) and works on state re-read inside it. Uniqueness checks
 *   (names built in; MACs and the like via `checkUnique`) run inside the lock too, so two racing
 *   processes cannot both create the same name.
 * - Every document carries `schemaVersion`. An older one runs through `migrate` on read and is
 *   written back in the new form only on its next edit; a newer one is refused with an error
 *   saying it was written by a newer Virtdesk, and is never overwritten.
 * - `update` applies only the fields that changed to the stored JSON and keeps fields this
 *   version does not know (house rule 8). `parse` must therefore strip unknown keys, not reject them.
 * - A corrupt or invalid file is a problem naming the file; the other documents still load.
 * - `watch` reports changes by any process within a second (fs.watch plus a polling scan).
 * - `list` (also the one inside the lock that uniqueness checks use) stats every file and re-reads
 *   and re-parses only those whose signature (inode, mtime, size) changed since this instance last
 *   parsed them; what it returns is always a fresh copy.
 * - After every write, the new version (or the deletion) is told synchronously to this process's
 *   listeners of the root (`onLocalChange`), so an in-memory cache (`openDocumentCache`) is exact
 *   under its own process's writes.
 *
 * Usage (the VM store):
 *   createDocumentStore({ root: join(virtdeskHome(), 'vms'), kind: 'vm', label: 'VM', fileName: 'vm.json',
 *     parse: parseVmDefinition, migrate: migrateVmDocument, currentVersion: CURRENT_SCHEMA_VERSION,
 *     checkUnique: (candidate, others) => … throw EngineError('already-exists', …) on a MAC clash })
 */
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, readdir, readFile, rename, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { EngineError } from '../api/errors';
import { removeStaleTempFiles, syncDirectory, writeFileAtomic } from './atomic-write';
import { frozenCopy } from './deep-freeze';
import { assertDocumentId, isDocumentId } from './document-id';
import { fileSignature, fileSignatureSync, signatureOf, type FileSignature } from './file-signature';
import { withFileLock } from './file-lock';
import { publishLocalChange, type DocumentReading } from './local-changes';
import { deepEqual, isPlainObject, mergeChanges, type JsonObject } from './merge-changes';
import { watchDocuments, type WatchOptions } from './store-watcher';

export type { WatchOptions } from './store-watcher';
export type { DocumentReading } from './local-changes';

/** What every stored document has; the store adds `schemaVersion` on write. */
export interface StoredDocument {
  id: string;
  name: string;
}

/** A file that could not be loaded. `message` is a full sentence that names the file. */
export interface StoreProblem {
  file: string;
  message: string;
}

export interface ListResult<T> {
  items: T[];
  problems: StoreProblem[];
}

/** Runs inside the lock on fresh state; throws (EngineError 'already-exists', …) to refuse. */
export type UniquenessCheck<T> = (candidate: T, others: readonly T[]) => void | Promise<void>;

export interface DocumentStoreOptions<T extends StoredDocument> {
  /** Folder holding one sub-folder per document. Created on first write. */
  root: string;
  /** Short machine name of the kind: 'vm', 'network', 'pool'. */
  kind: string;
  /** Words for messages ("VM", "network"). Default: `kind`. */
  label?: string;
  /** The document's file inside its folder, e.g. 'vm.json'. */
  fileName: string;
  /** Validates a document at `currentVersion` and applies defaults; throws when invalid. */
  parse: (raw: unknown) => T;
  /** Brings a document from an older `fromVersion` to `currentVersion` (and sets its schemaVersion). */
  migrate: (raw: JsonObject, fromVersion: number) => unknown;
  currentVersion: number;
  /** Checked on every create and update, after the built-in unique-name check. */
  checkUnique?: UniquenessCheck<T>;
  /** How long a mutation waits for another process's lock. Default 10 s. */
  lockTimeoutMs?: number;
}

export interface MutationOptions<T> {
  /** An extra check for this call only, run after the store's own. */
  checkUnique?: UniquenessCheck<T>;
}

export interface DeleteOptions {
  /** Remove only the document file and leave the folder with everything else in it. */
  keepFiles?: boolean;
}

export type Mutator<T> = (fresh: T) => Partial<T> | T | Promise<Partial<T> | T>;

export interface DocumentStore<T extends StoredDocument> {
  readonly root: string;
  readonly kind: string;
  /** Words for messages ("VM", "network"). */
  readonly label: string;
  readonly fileName: string;
  /** All documents that load, sorted by name, and a problem for each file that does not. */
  list(): Promise<ListResult<T>>;
  /** Throws not-found, or invalid-state naming the file when it does not load. */
  get(id: string): Promise<T>;
  /** Throws conflict when hand edits left two documents with the name. */
  findByName(name: string): Promise<T | undefined>;
  /** By id or by name; throws not-found. */
  resolve(idOrName: string): Promise<T>;
  /** Writes a new document. Throws already-exists for a taken id or name (or a failed check). */
  create(doc: T, options?: MutationOptions<T>): Promise<T>;
  /** Read-modify-write on fresh state under the lock; returns the stored result. No change, no write. */
  update(id: string, mutate: Mutator<T>, options?: MutationOptions<T>): Promise<T>;
  rename(id: string, name: string, options?: MutationOptions<T>): Promise<T>;
  /** Removes the whole folder (or only the document file with keepFiles). Works on corrupt files too. */
  delete(id: string, options?: DeleteOptions): Promise<void>;
  folderOf(id: string): string;
  fileOf(id: string): string;
  /** Reports ids whose document appeared, changed or disappeared, by any process. Returns stop. */
  watch(onChange: (ids: string[]) => void, options?: WatchOptions): () => void;
  /** The ids that have a folder in the store (with or without a document in it). */
  ids(): Promise<string[]>;
  /**
   * One document as a reader would load it now, with its file signature; `unchanged` when the file
   * still has `knownSignature`. The document is shared and frozen: copy it before changing it.
   */
  read(id: string, knownSignature?: FileSignature): Promise<DocumentReading<T> | { status: 'unchanged'; signature: FileSignature }>;
}

type ReadOutcome<T> = { status: 'missing' } | { status: 'ok'; doc: T; raw: JsonObject } | { status: 'problem'; error: EngineError };

export function createDocumentStore<T extends StoredDocument>(options: DocumentStoreOptions<T>): DocumentStore<T> {
  const { root, kind, fileName, currentVersion } = options;
  const label = options.label ?? kind;
  const lockPath = join(root, '.lock');

  const folderOf = (id: string): string => {
    assertDocumentId(id, label);
    return join(root, id);
  };
  const fileOf = (id: string): string => join(folderOf(id), fileName);

  function problem(file: string, what: string, hint: string, cause?: unknown): ReadOutcome<T> {
    return { status: 'problem', error: new EngineError('invalid-state', `${file} ${what}`, { hint, details: { file }, cause }) };
  }

  async function readDocument(id: string): Promise<ReadOutcome<T>> {
    const file = fileOf(id);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if (hasCode(error, 'ENOENT') || hasCode(error, 'ENOTDIR')) return { status: 'missing' };
      return problem(file, `cannot be read: ${messageOf(error)}`, 'Check the permissions of the file and its folder.', error);
    }
    return interpret(id, text);
  }

  /** What the text of document `id` loads as: migrated, parsed, checked against its folder. */
  function interpret(id: string, text: string): ReadOutcome<T> {
    const file = fileOf(id);
    const fixHint = `Fix or move away ${file}; the other ${label}s are not affected.`;
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (error) {
      return problem(file, `is not valid JSON (${messageOf(error)})`, fixHint, error);
    }
    if (!isPlainObject(raw)) return problem(file, 'does not hold a JSON object', fixHint);
    const version = raw.schemaVersion;
    if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) {
      return problem(file, `has no valid schemaVersion (found ${JSON.stringify(version) ?? 'none'})`, fixHint);
    }
    if (version > currentVersion) {
      return problem(
        file,
        `was written by a newer Virtdesk (schemaVersion ${version}; this version reads up to ${currentVersion})`,
        `Update Virtdesk to use this ${label}. The file was left unchanged.`,
      );
    }
    if (version < currentVersion) {
      let migrated: unknown;
      try {
        migrated = options.migrate(raw, version);
      } catch (error) {
        return problem(file, `could not be migrated from schemaVersion ${version} to ${currentVersion}: ${messageOf(error)}`, fixHint, error);
      }
      if (!isPlainObject(migrated) || migrated.schemaVersion !== currentVersion) {
        const reached = isPlainObject(migrated) ? JSON.stringify(migrated.schemaVersion) : 'no object';
        return problem(file, `could not be migrated from schemaVersion ${version}: the migration stopped at ${reached}, not ${currentVersion}`, fixHint);
      }
      raw = migrated;
    }
    let doc: T;
    try {
      doc = options.parse(raw);
    } catch (error) {
      return problem(file, `is not a valid ${label} definition: ${messageOf(error)}`, fixHint, error);
    }
    if (doc.id !== id) return problem(file, `holds id ${JSON.stringify(doc.id)} but lives in the folder of ${id}`, fixHint);
    return { status: 'ok', doc, raw: raw as JsonObject };
  }

  /** Parsed documents by the signature of the file they came from (frozen, shared by this instance's readers). */
  const parsed = new Map<string, { signature: FileSignature; doc: T }>();

  /**
   * Document `id` as it is now, re-read only when its signature changed. The signature is taken
   * before the read: if the file is replaced in between, the newer text is kept under the older
   * signature, which the next call sees differ, so it re-reads; a stale text is never kept.
   */
  async function readSigned(id: string, knownSignature?: FileSignature): Promise<DocumentReading<T> | { status: 'unchanged'; signature: FileSignature }> {
    return readAt(id, await fileSignature(fileOf(id)), knownSignature);
  }

  /** As readSigned, with the signature already taken (just before this call). */
  async function readAt(id: string, signature: FileSignature | undefined, knownSignature?: FileSignature): Promise<DocumentReading<T> | { status: 'unchanged'; signature: FileSignature }> {
    if (signature === undefined) {
      parsed.delete(id);
      // Gone, or not stat-able (a permission problem is reported by the read).
      const outcome = await readDocument(id);
      if (outcome.status === 'missing') return { status: 'missing' };
      if (outcome.status === 'problem') return { status: 'problem', error: outcome.error, signature: undefined };
      return { status: 'ok', doc: frozenCopy(outcome.doc), signature: 'unknown' };
    }
    if (signature === knownSignature) return { status: 'unchanged', signature };
    const known = parsed.get(id);
    if (known?.signature === signature) return { status: 'ok', doc: known.doc, signature };
    const outcome = await readDocument(id);
    if (outcome.status === 'missing') {
      parsed.delete(id);
      return { status: 'missing' };
    }
    if (outcome.status === 'problem') {
      // Problems are not kept: they are rare, and a fixed permission does not change the signature.
      parsed.delete(id);
      return { status: 'problem', error: outcome.error, signature };
    }
    const doc = frozenCopy(outcome.doc);
    parsed.set(id, { signature, doc });
    return { status: 'ok', doc, signature };
  }

  async function listIds(): Promise<string[]> {
    try {
      return (await readdir(root)).filter(isDocumentId);
    } catch (error) {
      if (hasCode(error, 'ENOENT')) return [];
      throw new EngineError('unavailable', `Cannot read the ${label} folder ${root}: ${messageOf(error)}`, { cause: error });
    }
  }

  /**
   * Every document (shared, frozen) and problem, as `list` returns them. The signatures are taken
   * with statSync: for hundreds of files that is a few milliseconds, several times less than the
   * same stats through the thread pool, and this runs on every edit (inside the lock).
   */
  async function listShared(): Promise<ListResult<T>> {
    const ids = await listIds();
    const present = new Set(ids);
    for (const id of parsed.keys()) if (!present.has(id)) parsed.delete(id);
    const signatures = ids.map((id) => fileSignatureSync(fileOf(id)));
    const readings = await Promise.all(
      ids.map((id, index) => {
        const signature = signatures[index];
        const known = parsed.get(id);
        if (known !== undefined && known.signature === signature) return { status: 'ok' as const, doc: known.doc, signature };
        return readAt(id, signature);
      }),
    );
    const items: T[] = [];
    const problems: StoreProblem[] = [];
    for (const reading of readings) {
      if (reading.status === 'ok') items.push(reading.doc);
      else if (reading.status === 'problem') problems.push({ file: String(reading.error.details?.file), message: reading.error.message });
    }
    return { items: sortByName(items), problems: problems.sort((a, b) => (a.file < b.file ? -1 : 1)) };
  }

  /** Tells this process's caches about the version just written (inside the lock). */
  function published(id: string, text: string, written: { ino: number; mtimeMs: number; size: number }): void {
    const outcome = interpret(id, text);
    const signature = signatureOf(written);
    if (outcome.status === 'ok') {
      const doc = frozenCopy(outcome.doc);
      parsed.set(id, { signature, doc });
      publishLocalChange(root, { id, reading: { status: 'ok', doc, signature } });
    } else if (outcome.status === 'problem') {
      publishLocalChange(root, { id, reading: { status: 'problem', error: outcome.error, signature } });
    }
  }

  const notFound = (ref: string): EngineError => notFoundError(label, kind, ref);

  async function get(id: string): Promise<T> {
    const outcome = await readDocument(id);
    if (outcome.status === 'missing') throw notFound(id);
    if (outcome.status === 'problem') throw outcome.error;
    return outcome.doc;
  }

  async function list(): Promise<ListResult<T>> {
    const { items, problems } = await listShared();
    return { items: items.map((doc) => structuredClone(doc)), problems };
  }

  async function findByName(name: string): Promise<T | undefined> {
    const match = pickByName((await listShared()).items, name, label);
    return match === undefined ? undefined : structuredClone(match);
  }

  async function resolve(idOrName: string): Promise<T> {
    const asId = idOrName.toLowerCase();
    if (isDocumentId(asId)) {
      const outcome = await readDocument(asId);
      if (outcome.status === 'ok') return outcome.doc;
      if (outcome.status === 'problem') throw outcome.error;
    }
    const byName = await findByName(idOrName);
    if (byName) return byName;
    throw notFound(idOrName);
  }

  function locked<R>(fn: () => Promise<R>): Promise<R> {
    return mkdir(root, { recursive: true }).then(() =>
      withFileLock(lockPath, fn, { timeoutMs: options.lockTimeoutMs, what: `the ${label} store (${root})` }),
    );
  }

  function parseCandidate(raw: JsonObject): T {
    try {
      return options.parse(raw);
    } catch (error) {
      if (error instanceof EngineError) throw error;
      throw new EngineError('invalid-argument', `Invalid ${label} definition: ${messageOf(error)}`, { cause: error });
    }
  }

  async function runChecks(candidate: T, call: MutationOptions<T> | undefined): Promise<void> {
    // Shared and frozen: a check reads the others, it never changes them.
    const others = (await listShared()).items.filter((doc) => doc.id !== candidate.id);
    const clash = others.find((doc) => doc.name === candidate.name);
    if (clash) {
      throw new EngineError('already-exists', `A ${label} named ${JSON.stringify(candidate.name)} already exists (id ${clash.id})`, {
        hint: `Choose another name, or rename or delete the existing ${label}.`,
        details: { name: candidate.name, id: clash.id },
      });
    }
    await options.checkUnique?.(candidate, others);
    await call?.checkUnique?.(candidate, others);
  }

  async function write(id: string, raw: JsonObject): Promise<void> {
    await removeStaleTempFiles(folderOf(id), fileName);
    const text = JSON.stringify(raw, null, 2) + '\n';
    const written = await writeFileAtomic(fileOf(id), text);
    published(id, text, written);
  }

  async function create(doc: T, call?: MutationOptions<T>): Promise<T> {
    if (!isPlainObject(doc)) throw new EngineError('invalid-argument', `A ${label} definition must be an object`);
    assertDocumentId(doc.id, label);
    const id = doc.id;
    return locked(async () => {
      if (await exists(fileOf(id))) {
        throw new EngineError('already-exists', `A ${label} with id ${id} already exists`, { hint: 'Create it with a new id.', details: { id } });
      }
      const candidate = parseCandidate({ ...(doc as unknown as JsonObject), schemaVersion: currentVersion });
      if (candidate.id !== id) throw new EngineError('internal', `Parsing the ${label} definition changed its id from ${id} to ${candidate.id}`);
      await runChecks(candidate, call);
      const folder = folderOf(id);
      const folderIsNew = !(await exists(folder));
      await mkdir(folder, { recursive: true });
      if (folderIsNew) await syncDirectory(root);
      const raw: JsonObject = { schemaVersion: currentVersion, ...(candidate as unknown as JsonObject) };
      raw.schemaVersion = currentVersion;
      await write(id, raw);
      return candidate;
    });
  }

  async function update(id: string, mutate: Mutator<T>, call?: MutationOptions<T>): Promise<T> {
    assertDocumentId(id, label);
    return locked(async () => {
      const outcome = await readDocument(id);
      if (outcome.status === 'missing') throw notFound(id);
      if (outcome.status === 'problem') throw outcome.error;
      const before = structuredClone(outcome.doc);
      const fresh = outcome.doc;
      const patch = await mutate(fresh);
      const after = { ...fresh, ...patch } as T;
      if (after.id !== id) {
        throw new EngineError('invalid-argument', `The id of a ${label} cannot be changed (${id} → ${JSON.stringify(after.id)})`);
      }
      if (deepEqual(before, after)) return before;
      const raw = mergeChanges(outcome.raw, before, after) as JsonObject;
      raw.schemaVersion = currentVersion;
      const candidate = parseCandidate(raw);
      await runChecks(candidate, call);
      await write(id, raw);
      return candidate;
    });
  }

  async function deleteDocument(id: string, call: DeleteOptions = {}): Promise<void> {
    assertDocumentId(id, label);
    await locked(async () => {
      const folder = folderOf(id);
      if (!(await exists(fileOf(id)))) throw notFound(id);
      if (call.keepFiles) {
        await unlink(fileOf(id));
        parsed.delete(id);
        publishLocalChange(root, { id, reading: { status: 'missing' } });
        await syncDirectory(folder);
        await removeStaleTempFiles(folder, fileName);
        return;
      }
      // Rename first so the document disappears in one step, then remove the rest at leisure.
      const trash = join(root, `.deleted-${id}-${randomBytes(4).toString('hex')}`);
      await rename(folder, trash);
      parsed.delete(id);
      publishLocalChange(root, { id, reading: { status: 'missing' } });
      await syncDirectory(root);
      await rm(trash, { recursive: true, force: true });
      await removeLeftoverTrash();
    });
  }

  async function removeLeftoverTrash(): Promise<void> {
    const entries = await readdir(root).catch(() => [] as string[]);
    await Promise.all(
      entries.filter((entry) => entry.startsWith('.deleted-')).map((entry) => rm(join(root, entry), { recursive: true, force: true }).catch(() => undefined)),
    );
  }

  return {
    root,
    kind,
    label,
    fileName,
    list,
    get,
    findByName,
    resolve,
    create,
    update,
    rename: (id, name, call) => update(id, () => ({ name }) as Partial<T>, call),
    delete: deleteDocument,
    folderOf,
    fileOf,
    watch: (onChange, watchOptions) => watchDocuments(root, fileName, onChange, watchOptions),
    ids: listIds,
    read: (id, knownSignature) => {
      assertDocumentId(id, label);
      return readSigned(id, knownSignature);
    },
  };
}

/** Documents by name, then id: the order every list of the store has. */
export function sortByName<T extends StoredDocument>(items: T[]): T[] {
  return items.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.id < b.id ? -1 : 1));
}

/** The one document named `name` among `items`; conflict when hand edits left two with that name. */
export function pickByName<T extends StoredDocument>(items: readonly T[], name: string, label: string): T | undefined {
  const matches = items.filter((doc) => doc.name === name);
  if (matches.length > 1) {
    throw new EngineError('conflict', `${matches.length} ${label}s are named ${JSON.stringify(name)}: ${matches.map((doc) => doc.id).join(', ')}`, {
      hint: 'Refer to it by id, and rename one of them.',
    });
  }
  return matches[0];
}

/** The error for a reference that names no document, the same from the store and its caches. */
export function notFoundError(label: string, kind: string, ref: string): EngineError {
  return new EngineError('not-found', `No ${label} ${JSON.stringify(ref)}`, { hint: `List them with \`virtdesk ${kind} list\`.` });
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (error) {
    if (hasCode(error, 'ENOENT')) return false;
    throw error;
  }
}

function hasCode(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === code;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
