import * as z from 'zod';
import { absolutePathSchema } from './common';
import { VM_DEFAULTS } from './defaults';

/** x86 kernels take at most 2048 bytes of command line including the terminating NUL. */
export const MAX_KERNEL_CMDLINE = 2047;

/** Boot a kernel (and initrd) from host files instead of the firmware's boot order. */
export const directKernelSchema = z.object({
  kernel: absolutePathSchema,
  initrd: absolutePathSchema.nullable().default(null),
  cmdline: z
    .string()
    .max(MAX_KERNEL_CMDLINE, `kernel command line must be at most ${MAX_KERNEL_CMDLINE} characters`)
    .refine((value) => !/[\0\n\r]/.test(value), { message: 'kernel command line must be one line' })
    .default(VM_DEFAULTS.directKernelCmdline),
});
export type DirectKernel = z.output<typeof directKernelSchema>;
