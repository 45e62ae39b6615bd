import type { ArgvStep } from './context';

/** Boot RAM is the maximum; the balloon brings the guest down to currentMiB at runtime. */
export const memoryStep: ArgvStep = {
  name: 'memory',
  build: ({ def }) => ['-m', `size=${def.memory.maximumMiB}M`],
};
