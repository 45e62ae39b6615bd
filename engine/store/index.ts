export {
  createDocumentStore,
  type DeleteOptions,
  type DocumentReading,
  type DocumentStore,
  type DocumentStoreOptions,
  type ListResult,
  type MutationOptions,
  type Mutator,
  type StoredDocument,
  type StoreProblem,
  type UniquenessCheck,
  type WatchOptions,
} from './document-store';
export { openDocumentCache, type CacheChange, type DocumentCache, type DocumentCacheOptions } from './document-cache';
export { assertDocumentId, isDocumentId } from './document-id';
export { writeFileAtomic } from './atomic-write';
export type { FileSignature } from './file-signature';
export { withFileLock, type FileLockOptions, type LockHolder } from './file-lock';
export type { JsonObject } from './merge-changes';
