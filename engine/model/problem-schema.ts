import * as z from 'zod';
import type { Problem } from './errors';

/** A Problem on the wire (engine/model/errors.ts says what one is). */
export const problemSchema = z.object({
  field: z.string().nullable(),
  message: z.string(),
  hint: z.string().nullable(),
}) satisfies z.ZodType<Problem>;
