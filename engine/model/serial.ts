import * as z from 'zod';
import { VM_DEFAULTS } from './defaults';

/** A serial console (ttyS0) on a unix socket, with QEMU keeping its own log of the output. */
export const serialSchema = z.boolean().default(VM_DEFAULTS.serial);
