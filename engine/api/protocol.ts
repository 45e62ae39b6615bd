import * as z from 'zod';
import { problemSchema } from '../model/problem-schema';
import { ERROR_CODES } from './errors';

/**
 * WebSocket close code with which a host ends a connection because the browser session behind it
 * ended (too old, or unused too long): the page then asks for a new launch link.
 */
export const SESSION_ENDED_CLOSE_CODE = 4001;

/** Wire messages of the RPC. Both ends validate every message they receive against these. */
const id = z.number().int().nonnegative();
const name = z.string().min(1).max(128);

export const errorInfoSchema = z.object({
  code: z.enum(ERROR_CODES),
  message: z.string(),
  hint: z.string().optional(),
  problems: z.array(problemSchema).optional(),
  details: z.record(z.string(), z.unknown()).optional(),
});

export const clientMessageSchema = z.discriminatedUnion('t', [
  z.object({ t: z.literal('call'), id, method: name, params: z.unknown() }),
  z.object({ t: z.literal('cancel'), id }),
  z.object({ t: z.literal('subscribe'), topic: name }),
  z.object({ t: z.literal('unsubscribe'), topic: name }),
]);

export const serverMessageSchema = z.discriminatedUnion('t', [
  z.object({ t: z.literal('result'), id, value: z.unknown() }),
  z.object({ t: z.literal('error'), id: id.nullable(), error: errorInfoSchema }),
  z.object({ t: z.literal('event'), topic: name, data: z.unknown() }),
]);

export type ClientMessage = z.infer<typeof clientMessageSchema>;
export type ServerMessage = z.infer<typeof serverMessageSchema>;
