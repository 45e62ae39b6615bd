import * as z from 'zod';
import { VM_DEFAULTS } from './defaults';

/** Less than this is almost always a unit mistake (`--memory 2` meaning 2 GiB). */
export const MIN_MEMORY_MIB = 16;
/** 16 TiB: beyond what QEMU/x86 guests use; host limits are checked separately. */
export const MAX_MEMORY_MIB = 16 * 1024 * 1024;

const mib = (what: string) =>
  z
    .number()
    .int(`${what} must be a whole number of MiB`)
    .min(MIN_MEMORY_MIB, `${what} must be at least ${MIN_MEMORY_MIB} MiB (the unit is MiB: 1 GiB is 1024)`)
    .max(MAX_MEMORY_MIB, `${what} must be at most ${MAX_MEMORY_MIB} MiB`);

export const memorySchema = z.object({
  /** RAM the guest boots with (`-m`). */
  maximumMiB: mib('memory').default(VM_DEFAULTS.memoryMiB),
  /** Balloon target; at most maximumMiB. Applied by the runtime through the balloon device. */
  currentMiB: mib('current memory').default(VM_DEFAULTS.memoryMiB),
});
export type Memory = z.output<typeof memorySchema>;

/** What a caller gives: `currentMiB` defaults to `maximumMiB`. */
export const memoryInputSchema = z.object({
  maximumMiB: mib('memory').default(VM_DEFAULTS.memoryMiB),
  currentMiB: mib('current memory').optional(),
});
export type MemoryInput = z.input<typeof memoryInputSchema>;

export function resolveMemory(input: z.output<typeof memoryInputSchema>): Memory {
  return { maximumMiB: input.maximumMiB, currentMiB: input.currentMiB ?? input.maximumMiB };
}
