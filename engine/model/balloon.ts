import * as z from 'zod';
import { VM_DEFAULTS } from './defaults';

/** A virtio balloon: lets the host set the guest's current memory and read its memory stats. */
export const balloonSchema = z.boolean().default(VM_DEFAULTS.balloon);
