/**
 * How every RPC transport carries a message: as JSON text. serve's WebSocket, the Electron IPC pipe
 * and the in-memory pair all encode and decode here, so a value crosses all of them the same way
 * (undefined fields vanish, Dates become strings, a Map becomes {}, NaN becomes null, a BigInt is
 * refused). Electron's IPC alone would structured-clone objects: a value could then pass under
 * Electron and fail under serve, or the other way round.
 */
export function encodeMessage(message: unknown): string {
  const text = JSON.stringify(message) as string | undefined;
  if (text === undefined) throw new TypeError(`an RPC message must be JSON, not ${typeof message}`);
  return text;
}

export type Decoded = { ok: true; message: unknown } | { ok: false; problem: string };

/** The message in one frame of JSON text; anything else is a protocol problem, said in words. */
export function decodeMessage(frame: unknown): Decoded {
  if (typeof frame !== 'string') return { ok: false, problem: `frame is not JSON text but ${frame === null ? 'null' : typeof frame === 'object' ? 'an object' : `a ${typeof frame}`}` };
  try {
    return { ok: true, message: JSON.parse(frame) as unknown };
  } catch {
    return { ok: false, problem: 'frame is not JSON' };
  }
}
