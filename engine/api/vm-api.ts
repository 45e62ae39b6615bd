import { z } from 'zod';
import { vmDefinitionSchema } from '../model/definition';
import { method } from './contract';

/** The VM service of the contract: what the UI and other hosts may ask of the VM registry. */
export const VM_STATES = ['stopped', 'starting', 'running', 'paused', 'shutting-down', 'crashed'] as const;
export const vmStateSchema = z.enum(VM_STATES);
export type VmStateName = z.infer<typeof vmStateSchema>;

const vmId = z.string().min(1).max(64);
const byId = z.object({ id: vmId });

export const vmSummarySchema = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string(),
  osId: z.string().nullable(),
  state: vmStateSchema,
  /** Why the VM is in this state when that is worth saying (crashed, failed to start, …). */
  stateReason: z.string().nullable(),
  vcpus: z.number().int(),
  memoryMiB: z.number().int(),
  autostart: z.boolean(),
  createdAt: z.string(),
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

export const vmMethods = {
  list: method(z.object({}), z.array(vmSummarySchema)),
  get: method(byId, vmDetailsSchema),
  /** A complete definition from a partial one, with the model's defaults, without saving it. */
  preview: method(
    z.object({ input: z.record(z.string(), z.unknown()) }),
    z.object({ definition: vmDefinitionSchema.nullable(), problems: z.array(z.object({ field: z.string().nullable(), message: z.string(), hint: z.string().nullable() })) }),
  ),
  create: method(z.object({ input: z.record(z.string(), z.unknown()) }), vmDetailsSchema),
  /** A JSON merge patch of the definition; only the fields it names change. */
  update: method(z.object({ id: vmId, patch: z.record(z.string(), z.unknown()) }), vmDetailsSchema),
  delete: method(z.object({ id: vmId, withStorage: z.boolean().default(false) }), z.null()),
  start: method(byId, z.null()),
  stop: method(z.object({ id: vmId, force: z.boolean().default(false), timeoutSeconds: z.number().positive().max(3600).optional() }), z.null()),
  reboot: method(byId, z.null()),
  reset: method(byId, z.null()),
  pause: method(byId, z.null()),
  resume: method(byId, z.null()),
  screenshot: method(byId, z.object({ pngBase64: z.string() })),
  sendKeys: method(z.object({ id: vmId, keys: z.array(z.string().regex(/^[a-z0-9_]+$/)).min(1).max(16), holdMs: z.number().int().min(0).max(2000).optional() }), z.null()),
  stats: method(byId, vmStatsSchema),
  openConsole: method(z.object({ id: vmId, kind: consoleKindSchema }), consoleTicketSchema),
};

export const vmEvents = {
  /** Definitions created, edited or deleted, by this host or another process (the CLI). */
  'vms.changed': z.object({ ids: z.array(z.string()) }),
  'vm.state': z.object({ id: z.string(), state: vmStateSchema, stateReason: z.string().nullable() }),
  'vm.stats': vmStatsSchema,
};
