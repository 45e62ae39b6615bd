import * as z from 'zod';
import { method } from './contract';

/** A libvirt host the user added: a name of their choosing and a libvirt URI (engine/libvirt checks it). */
export const savedConnectionSchema = z.object({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'a connection name is letters, digits, dots, dashes and underscores'),
  uri: z.string().min(1),
  autoconnect: z.boolean().default(false),
});
export type SavedConnection = z.infer<typeof savedConnectionSchema>;

/** What the user chose in Preferences. Defaults live here, next to the schema, not in the UI. */
export const preferencesSchema = z.object({
  consoleScaling: z.enum(['fit', 'actual', 'resize-guest']).default('fit'),
  /** What quitting the app does to running VMs. Keeping them running is the safe default. */
  onQuit: z.enum(['keep-running', 'save', 'shut-down']).default('keep-running'),
  defaultPool: z.string().default('default'),
  statsIntervalMs: z.number().int().min(500).max(60_000).default(2000),
  confirmForceOff: z.boolean().default(true),
  /** Shut down forces a VM off when its guest has not powered off after this many seconds; null (the default) never forces. */
  forceOffAfterSeconds: z.number().int().min(10).max(86_400).nullable().default(null),
  confirmDelete: z.boolean().default(true),
  /** libvirt connections, in the order the user added them. */
  connections: z.array(savedConnectionSchema).default([]),
});
export type Preferences = z.infer<typeof preferencesSchema>;

export const preferencesMethods = {
  get: method(z.object({}), preferencesSchema),
  /** Changes only the fields given. */
  set: method(z.object({ changes: preferencesSchema.partial() }), preferencesSchema),
};

export const preferencesEvents = {
  'preferences.changed': preferencesSchema,
};
