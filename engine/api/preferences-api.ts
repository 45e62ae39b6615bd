import * as z from 'zod';
import { method } from './contract';

/** What the user chose in Preferences. Defaults live here, next to the schema, not in the UI. */
export const preferencesSchema = z.object({
  consoleScaling: z.enum(['fit', 'actual', 'resize-guest']).default('fit'),
  /** What quitting the app does to running VMs. Keeping them running is the safe default. */
  onQuit: z.enum(['keep-running', 'save', 'shut-down']).default('keep-running'),
  defaultPool: z.string().default('default'),
  statsIntervalMs: z.number().int().min(500).max(60_000).default(2000),
  confirmForceOff: z.boolean().default(true),
  confirmDelete: z.boolean().default(true),
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
