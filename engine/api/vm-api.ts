import * as z from 'zod';
import { vmCreateInputSchema } from '../model/create-input';
import { vmDefinitionSchema } from '../model/definition';
import { problemSchema } from '../model/problem-schema';
import { method } from './contract';
import { withinJsonBounds, type JsonBounds } from './json-bounds';

export { MAX_TAGS, MAX_TAG_LENGTH, tagKey, tagSchema, tagsSchema } from '../model/tags';
export type { NewCdromInput, NewDiskInput, VmCreateInput } from '../model/create-input';
export { CPU_MODEL_SUGGESTIONS } from '../model/cpu';

/** A create input before it is complete: without a name the preview names the machine itself. */
export const vmPreviewInputSchema = vmCreateInputSchema.partial({ name: true });
export type VmPreviewInput = z.input<typeof vmPreviewInputSchema>;

/** The VM service of the contract: what the UI and other hosts may ask of the VM registry. */
export const VM_STATES = ['stopped', 'starting', 'running', 'paused', 'shutting-down', 'crashed'] as const;
export const vmStateSchema = z.enum(VM_STATES);
export type VmStateName = z.infer<typeof vmStateSchema>;

const vmId = z.string().min(1).max(64);

/**
 * Bounds of a VM definition as stored, and of a `vms.update` patch. Fields Virtdesk does not know
 * are kept for other tools and count too; a definition Virtdesk writes is about 2 KiB and 5 deep.
 */
export const VM_DEFINITION_BOUNDS: JsonBounds = { maxDepth: 16, maxBytes: 128 * 1024 };
const byId = z.object({ id: vmId });

export const vmSummarySchema = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string(),
  /** Groups the person gave the VM (see engine/model/tags). */
  tags: z.array(z.string()),
  osId: z.string().nullable(),
  state: vmStateSchema,
  /** Why the VM is in this state when that is worth saying (crashed, failed to start, …). */
  stateReason: z.string().nullable(),
  /** While shutting down: since when (ISO time), for the time elapsed. Null in other states. */
  stateSince: z.string().nullable().optional(),
  vcpus: z.number().int(),
  memoryMiB: z.number().int(),
  autostart: z.boolean(),
  createdAt: z.string(),
  /** When the VM's state was saved (`save`); its next start resumes the guest. Null without a saved state. */
  savedAt: z.string().nullable().optional(),
  /** A template: a read-only base for linked clones, which cannot be started or edited. */
  template: z.boolean().optional(),
});
export type VmSummary = z.infer<typeof vmSummarySchema>;

export const vmRuntimeSchema = z.object({
  state: vmStateSchema,
  stateReason: z.string().nullable(),
  pid: z.number().int().nullable(),
  startedAt: z.string().nullable(),
  accelerator: z.enum(['kvm', 'tcg']).nullable(),
  cpuModel: z.string().nullable(),
  ipAddresses: z.array(z.string()),
  /** As in the summary: set once the state is saved, until it is restored or discarded. */
  savedAt: z.string().nullable().optional(),
  template: z.boolean().optional(),
});
export type VmRuntime = z.infer<typeof vmRuntimeSchema>;

export const vmDetailsSchema = z.object({
  definition: vmDefinitionSchema,
  runtime: vmRuntimeSchema,
  /** Fields edited while running that take effect only after the next start. */
  pendingRestart: z.array(z.string()),
});
export type VmDetails = z.infer<typeof vmDetailsSchema>;

export const vmStatsSchema = z.object({
  id: z.string(),
  at: z.number(),
  /** 100 = one host core; null on the first sample (a rate needs two). */
  cpuPercent: z.number().nullable(),
  rssBytes: z.number(),
  /** Proportional set size of QEMU; costly to read, so refreshed every 30 s rather than every sample. */
  pssBytes: z.number().nullable(),
  /** What the balloon reports the guest has, when there is a balloon. */
  guestMemoryBytes: z.number().nullable(),
  blockReadBytes: z.number(),
  blockWriteBytes: z.number(),
  /** Null when no NIC has a tap: QEMU keeps no byte counters for user-mode NAT. */
  netRxBytes: z.number().nullable(),
  netTxBytes: z.number().nullable(),
});
export type VmStats = z.infer<typeof vmStatsSchema>;

export const consoleKindSchema = z.enum(['vnc', 'serial']);
export type ConsoleKind = z.infer<typeof consoleKindSchema>;

export const consoleTicketSchema = z.object({
  /** Single use, bound to this VM and this session, valid for `expiresInMs`. */
  ticket: z.string(),
  expiresInMs: z.number(),
  /** One-time VNC password for this viewer (QEMU's set_password); null for serial. */
  password: z.string().nullable(),
});
export type ConsoleTicket = z.infer<typeof consoleTicketSchema>;

export const SNAPSHOT_KINDS = ['disk-only', 'with-memory'] as const;

/** One snapshot of a VM; `parentId` makes the tree, `current` marks what the VM's state descends from. */
export const vmSnapshotSchema = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string(),
  createdAt: z.string(),
  parentId: z.string().nullable(),
  kind: z.enum(SNAPSHOT_KINDS),
  /** What the guest was doing; reverting to a with-memory snapshot resumes it so. */
  vmState: z.enum(['running', 'paused', 'stopped']),
  current: z.boolean(),
  /** Disks whose images hold it, and those left out with why (read-only disks). */
  disks: z.array(z.object({ id: z.string(), source: z.string() })),
  skipped: z.array(z.object({ id: z.string(), source: z.string(), why: z.string() })),
  machineType: z.string().nullable(),
  hasThumbnail: z.boolean(),
  /** The definition at that moment (a revert restores it); null when this version cannot read it. */
  definition: vmDefinitionSchema.nullable(),
});
export type VmSnapshot = z.infer<typeof vmSnapshotSchema>;

const snapshotRef = z.object({ id: vmId, snapshot: z.string().min(1).max(64) });

export const vmMethods = {
  list: method(z.object({}), z.array(vmSummarySchema)),
  get: method(byId, vmDetailsSchema),
  /**
   * What `create` would make of an input, with the model's defaults and the paths of the images it
   * would create, without downloading, creating or saving anything; or the problems, by field.
   */
  preview: method(z.object({ input: vmPreviewInputSchema }), z.object({ definition: vmDefinitionSchema.nullable(), problems: z.array(problemSchema) })),
  /**
   * Creates a VM in one call: a CD-ROM's `download`, the disks that say `create`, the definition.
   * Nothing it made is left behind when a later step fails (a downloaded ISO stays in the library).
   * Download progress: `storage.progress` events with `operationId`; cancel with the call's signal.
   */
  create: method(z.object({ input: vmCreateInputSchema, operationId: z.string().min(1).max(128).optional() }), vmDetailsSchema),
  /** A JSON merge patch of the definition; only the fields it names change. */
  update: method(z.object({ id: vmId, patch: z.record(z.string(), z.unknown()).superRefine(withinJsonBounds(VM_DEFINITION_BOUNDS, 'the patch')) }), vmDetailsSchema),
  delete: method(z.object({ id: vmId, withStorage: z.boolean().default(false) }), z.null()),
  start: method(byId, z.null()),
  /**
   * Asks the guest to shut down and answers at once (or after `waitSeconds`): `stopped` false means it
   * is still shutting down, never forced. Only `force`, or `forceAfterSeconds` (in the background), force it off.
   */
  stop: method(
    z.object({ id: vmId, force: z.boolean().default(false), waitSeconds: z.number().min(0).max(60).optional(), forceAfterSeconds: z.number().positive().max(86_400).optional() }),
    z.object({ stopped: z.boolean(), forced: z.boolean() }),
  ),
  reboot: method(byId, z.null()),
  reset: method(byId, z.null()),
  pause: method(byId, z.null()),
  resume: method(byId, z.null()),
  screenshot: method(byId, z.object({ pngBase64: z.string() })),
  sendKeys: method(z.object({ id: vmId, keys: z.array(z.string().regex(/^[a-z0-9_]+$/)).min(1).max(16), holdMs: z.number().int().min(0).max(2000).optional() }), z.null()),
  stats: method(byId, vmStatsSchema),
  openConsole: method(z.object({ id: vmId, kind: consoleKindSchema }), consoleTicketSchema),

  /** Snapshots, oldest first. */
  listSnapshots: method(byId, z.array(vmSnapshotSchema)),
  /** Default kind: with-memory for a running or paused VM, disk-only for a stopped one. Progress: `vm.progress`; cancel with the call's signal. */
  createSnapshot: method(
    z.object({ id: vmId, name: z.string().min(1).max(64), description: z.string().max(4096).default(''), kind: z.enum(SNAPSHOT_KINDS).optional() }),
    vmSnapshotSchema,
  ),
  /**
   * Throws the VM's current state away: the UI asks first and passes `discardCurrentState: true`,
   * otherwise it is refused (invalid-argument, details.needsConfirmation). `start` boots the VM
   * after reverting to a disk-only snapshot.
   */
  revertSnapshot: method(
    snapshotRef.extend({ discardCurrentState: z.boolean().default(false), start: z.boolean().default(false) }),
    z.object({ mode: z.enum(['in-place', 'restarted', 'stopped']), snapshot: vmSnapshotSchema }),
  ),
  deleteSnapshot: method(snapshotRef, z.object({ notes: z.array(z.string()) })),
  snapshotThumbnail: method(snapshotRef, z.object({ pngBase64: z.string().nullable() })),
  /** New name, UUID and MACs; `linked` needs a template. A running source is cloned through a snapshot. */
  clone: method(z.object({ id: vmId, name: z.string().min(1).max(64), linked: z.boolean().default(false) }), z.object({ vm: vmDetailsSchema, warnings: z.array(z.string()) })),
  /** Marks (or unmarks) a stopped VM as a template. */
  setTemplate: method(z.object({ id: vmId, template: z.boolean() }), vmDetailsSchema),
  /** Saves a running VM's state to a file and stops it; `start` (or `restore`) resumes it. */
  save: method(byId, z.object({ sizeBytes: z.number(), durationMs: z.number() })),
  /** Resumes a saved VM, or with `discard` throws its saved state away (the next start boots afresh). */
  restore: method(z.object({ id: vmId, discard: z.boolean().default(false) }), z.null()),
};

export const vmEvents = {
  /**
   * Definitions created, edited or deleted, by this host or another process (the CLI). `summaries`
   * are the `vms.list` entries of those of `ids` that still exist, so a list can update in place;
   * an id without one was deleted (or its file stopped loading). Without `summaries`, reload the list.
   */
  'vms.changed': z.object({ ids: z.array(z.string()), summaries: z.array(vmSummarySchema).optional() }),
  'vm.state': z.object({ id: z.string(), state: vmStateSchema, stateReason: z.string().nullable(), stateSince: z.string().optional() }),
  /**
   * Stats samples of running VMs, every 2 s by default. The VMs are sampled at the same moments and
   * their samples travel together: one event per interval holding a sample of each running VM.
   */
  'vms.stats': z.object({ samples: z.array(vmStatsSchema) }),
  /** A long VM operation moving on (0–1): a snapshot being taken, a save, a clone's copy. */
  'vm.progress': z.object({ id: z.string(), operation: z.enum(['snapshot', 'save', 'clone']), fraction: z.number().min(0).max(1) }),
};
