import * as z from 'zod';
import { VM_DEFAULTS } from './defaults';

/** A virtio RNG fed from the host's /dev/urandom (fast guest entropy at boot). */
export const rngSchema = z.boolean().default(VM_DEFAULTS.rng);
