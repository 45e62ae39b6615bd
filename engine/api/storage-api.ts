import * as z from 'zod';
import { method } from './contract';

/**
 * The storage service of the contract: directory pools and their volumes (qemu-img images), the
 * ISO library with OS detection, downloads, and the osinfo OS list the New-VM wizard searches.
 * Long operations take an `operationId` chosen by the caller and report `storage.progress` events
 * under it; cancelling the call (its AbortSignal) cancels the operation.
 */

const name = z.string().min(1).max(255);
const poolName = z.string().min(1).max(64);
const absolutePath = z.string().min(1).max(4096).regex(/^\//, 'must be an absolute path');
const bytes = z.number().int().nonnegative();
const operationId = z.string().min(1).max(100).optional();

export const VOLUME_FORMATS = ['qcow2', 'raw'] as const;
export const volumeFormatSchema = z.enum(VOLUME_FORMATS);
export const PREALLOCATIONS = ['off', 'metadata', 'falloc', 'full'] as const;

export const poolSchema = z.object({
  id: z.string(),
  name: z.string(),
  path: z.string(),
  /** The built-in `<VIRTDESK_HOME>/images` pool, which cannot be removed. */
  builtIn: z.boolean(),
  /** False when the folder is missing or unreadable (then `problem` says why). */
  available: z.boolean(),
  freeBytes: z.number().optional(),
  problem: z.string().optional(),
});
export type Pool = z.infer<typeof poolSchema>;

export const volumeUserSchema = z.object({
  vmId: z.string(),
  vmName: z.string(),
  readOnly: z.boolean(),
  running: z.boolean(),
});
export type VolumeUser = z.infer<typeof volumeUserSchema>;

export const volumeSchema = z.object({
  pool: z.string(),
  name: z.string(),
  path: z.string(),
  /** As qemu-img reports it: qcow2, raw, vmdk, … */
  format: z.string(),
  virtualSize: z.number(),
  /** Bytes used on the host. */
  allocation: z.number(),
  backingFile: z.string().optional(),
  backingPath: z.string().optional(),
  backingFormat: z.string().optional(),
  dirty: z.boolean(),
  corrupt: z.boolean(),
  /** Imported by reference: the file the pool links to, which stays where it is. */
  referenceTo: z.string().optional(),
  usedBy: z.array(volumeUserSchema),
  /** Linked clones (paths) built on this volume. */
  baseOf: z.array(z.string()),
  /** Set when the file could not be read as an image. */
  problem: z.string().optional(),
});
export type VolumeInfo = z.infer<typeof volumeSchema>;

export const volumeResultSchema = z.object({
  volume: volumeSchema,
  /** What the user should know although the operation succeeded (an accepted overcommit, a conversion). */
  warnings: z.array(z.string()),
});
export type VolumeResult = z.infer<typeof volumeResultSchema>;

export const isoLabelSchema = z.object({
  systemId: z.string(),
  volumeId: z.string(),
  volumeSetId: z.string(),
  publisherId: z.string(),
  dataPreparerId: z.string(),
  applicationId: z.string(),
  volumeSize: z.number(),
});
export type IsoLabelInfo = z.infer<typeof isoLabelSchema>;

export const resourceHintSchema = z.object({
  memoryMiB: z.number().optional(),
  vcpus: z.number().optional(),
  diskBytes: z.number().optional(),
});
export type ResourceHintInfo = z.infer<typeof resourceHintSchema>;

export const unknownOsSchema = z.object({
  osId: z.literal('unknown'),
  /** Why nothing is claimed. */
  reason: z.string(),
  /** Several OSes the media cannot tell apart; none is picked. */
  candidates: z.array(z.object({ osId: z.string(), name: z.string() })).optional(),
  database: z.string().optional(),
});
export const detectedOsSchema = z.object({
  /** libosinfo's short id, e.g. debian12. */
  osId: z.string(),
  name: z.string(),
  version: z.string().optional(),
  vendor: z.string().optional(),
  family: z.string().optional(),
  arch: z.string(),
  live: z.boolean(),
  recommended: resourceHintSchema,
  minimum: resourceHintSchema,
  database: z.string(),
});
export const osDetectionSchema = z.union([unknownOsSchema, detectedOsSchema]);
export type OsDetectionInfo = z.infer<typeof osDetectionSchema>;

export const isoSchema = z.object({
  id: z.string(),
  name: z.string(),
  path: z.string(),
  sizeBytes: z.number(),
  label: isoLabelSchema,
  detection: osDetectionSchema,
  addedAt: z.string(),
  /** The file is gone or unreadable; the entry stays until removed. */
  missing: z.boolean().optional(),
});
export type IsoInfo = z.infer<typeof isoSchema>;

/** One OS of the osinfo database, for searching in the wizard. */
export const osInfoSchema = z.object({
  osId: z.string(),
  name: z.string(),
  version: z.string().optional(),
  vendor: z.string().optional(),
  family: z.string().optional(),
  recommended: resourceHintSchema,
  minimum: resourceHintSchema,
});
export type OsInfo = z.infer<typeof osInfoSchema>;

export const volumeCheckSchema = z.object({
  supported: z.boolean(),
  clean: z.boolean(),
  corruptions: z.number(),
  leaks: z.number(),
  corruptionsFixed: z.number(),
  leaksFixed: z.number(),
  checkErrors: z.number(),
  allocatedClusters: z.number().optional(),
  totalClusters: z.number().optional(),
  imageEndOffset: z.number().optional(),
  findings: z.array(z.string()),
  summary: z.string(),
});

const volumeRef = { pool: poolName, name };

export const ALLOWED_FOLDER_SOURCES = ['pool', 'iso-library', 'home', 'added'] as const;
/** A folder a limited session (a browser under serve, the app's renderer) may name files in. */
export const allowedFolderSchema = z.object({
  path: z.string(),
  source: z.enum(ALLOWED_FOLDER_SOURCES),
  label: z.string(),
  /** Only folders added on purpose can be removed from the list. */
  removable: z.boolean(),
});
export type AllowedFolderInfo = z.infer<typeof allowedFolderSchema>;

export const storageMethods = {
  listPools: method(z.object({}), z.object({ pools: z.array(poolSchema), problems: z.array(z.string()) })),
  /** Makes an existing folder a pool. */
  addPool: method(z.object({ name: poolName, path: absolutePath }), poolSchema.pick({ id: true, name: true, path: true, builtIn: true })),
  /** Forgets a pool; its folder and files stay. */
  removePool: method(z.object({ name: poolName }), poolSchema.pick({ id: true, name: true, path: true, builtIn: true })),

  listVolumes: method(z.object({ pool: poolName }), z.array(volumeSchema)),
  getVolume: method(z.object(volumeRef), volumeSchema),
  createVolume: method(
    z.object({
      ...volumeRef,
      format: volumeFormatSchema,
      sizeBytes: bytes.min(1),
      preallocation: z.enum(PREALLOCATIONS).optional(),
      allowOvercommit: z.boolean().optional(),
    }),
    volumeResultSchema,
  ),
  resizeVolume: method(
    z.object({ ...volumeRef, sizeBytes: bytes.min(1), force: z.boolean().optional(), allowOvercommit: z.boolean().optional() }),
    volumeResultSchema.extend({ previousSize: z.number() }),
  ),
  /** full: an independent copy (progress events); linked: a qcow2 overlay on the source. */
  cloneVolume: method(
    z.object({
      ...volumeRef,
      newName: name,
      targetPool: poolName.optional(),
      mode: z.enum(['full', 'linked']),
      format: volumeFormatSchema.optional(),
      compress: z.boolean().optional(),
      allowOvercommit: z.boolean().optional(),
      operationId,
    }),
    volumeResultSchema,
  ),
  /** `force` deletes although stopped VMs still reference it; never while a VM runs or clones depend on it. */
  deleteVolume: method(z.object({ ...volumeRef, force: z.boolean().optional() }), z.object({ deleted: z.string(), keptFile: z.string().optional() })),
  /** Brings an image file on the host into a pool: copied, moved, or referenced where it is. */
  importVolume: method(
    z.object({
      pool: poolName,
      source: absolutePath,
      mode: z.enum(['copy', 'move', 'reference']),
      name: name.optional(),
      format: z.string().min(1).max(32).optional(),
      allowOvercommit: z.boolean().optional(),
      operationId,
    }),
    volumeResultSchema,
  ),
  downloadVolume: method(
    z.object({
      pool: poolName,
      url: z.url({ protocol: /^https?$/ }),
      name: name.optional(),
      sha256: z.string().regex(/^[0-9a-fA-F]{64}$/).optional(),
      format: z.string().min(1).max(32).optional(),
      operationId,
    }),
    volumeResultSchema,
  ),
  checkVolume: method(z.object({ ...volumeRef, repair: z.enum(['leaks', 'all']).optional() }), volumeCheckSchema),

  listIsos: method(z.object({}), z.object({ isos: z.array(isoSchema), problems: z.array(z.string()) })),
  /** Adds a local ISO file (left where it is) after reading its labels and identifying the OS. */
  addIso: method(z.object({ path: absolutePath, name: name.optional() }), isoSchema),
  /** Reads an ISO's labels and identifies its OS without adding it. */
  detectIso: method(z.object({ path: absolutePath }), z.object({ path: z.string(), label: isoLabelSchema, detection: osDetectionSchema })),
  /** Forgets an ISO; `deleteFile` also deletes a file the library downloaded itself. */
  removeIso: method(z.object({ id: z.string().min(1).max(255), deleteFile: z.boolean().optional() }), z.object({ id: z.string(), deletedFile: z.boolean() })),
  downloadIso: method(
    z.object({ url: z.url({ protocol: /^https?$/ }), name: name.optional(), sha256: z.string().regex(/^[0-9a-fA-F]{64}$/).optional(), operationId }),
    isoSchema,
  ),

  /**
   * The folders a limited session may name host files in (pools, the ISO library, the home folder
   * without its hidden folders, folders added on purpose); `limited` says whether this caller is held to them.
   */
  listAllowedFolders: method(z.object({}), z.object({ folders: z.array(allowedFolderSchema), limited: z.boolean() })),
  /** Allows a folder on purpose. Refused to a browser session (it cannot widen its own reach) and for system folders. */
  allowFolder: method(z.object({ path: absolutePath }), allowedFolderSchema),
  /** Takes a folder added on purpose off the list. */
  disallowFolder: method(z.object({ path: absolutePath }), z.object({ removed: z.boolean() })),

  /** The osinfo database's OSes whose id, name or vendor contain every word of `query`. */
  listOses: method(z.object({ query: z.string().max(100).default(''), limit: z.number().int().min(1).max(2000).default(50) }), z.array(osInfoSchema)),
};

export const storageEvents = {
  /** Progress of a long operation started with `operationId`; `total` is null when unknown (a download without a length). */
  'storage.progress': z.object({ operationId: z.string(), done: z.number(), total: z.number().nullable() }),
  /** Pools, volumes or the ISO library changed through this host. */
  'storage.changed': z.object({ what: z.enum(['pools', 'volumes', 'isos', 'folders']), pool: z.string().optional() }),
};
