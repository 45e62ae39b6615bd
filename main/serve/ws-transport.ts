import type { RawData, WebSocket } from 'ws';
import { MAX_RPC_MESSAGE_BYTES } from '../../engine/api/json-bounds';
import { formatBytes } from '../../engine/model/bytes';
import type { ServerMessage } from '../../engine/api/protocol';
import type { Transport } from '../../engine/api/transport';
import { decodeMessage, encodeMessage } from '../../engine/api/wire';

/**
 * Frames up to this size are read and answered with a clear error when over MAX_RPC_MESSAGE_BYTES;
 * larger ones make `ws` close the connection (1009) without buffering them.
 */
export const MAX_WEBSOCKET_FRAME_BYTES = 4 * MAX_RPC_MESSAGE_BYTES;

/** Close code for a frame that is not an RPC message (RFC 6455: unsupported data). */
const UNSUPPORTED_DATA = 1003;
/** A peer that does not answer our close frame is cut off after this long. */
const CLOSE_GRACE_MS = 2_000;

/** How the page's client starts every call (engine/api/rpc-client.ts), so an oversized one can be answered without parsing it. */
const CALL_PREFIX = /^\{"t":"call","id":(\d{1,15}),"method":"([A-Za-z0-9_.-]{1,128})"/;

/**
 * Adapts a server-side `ws` socket to the RPC transport: one JSON text frame per message.
 * A malformed frame (bad UTF-8, opcode, masking, close code…) ends only this connection and is logged;
 * `ws` then closes the socket itself.
 */
export function wsTransport(socket: WebSocket, log: (line: string) => void): Transport {
  socket.on('error', (error: Error & { code?: string }) => log(`RPC connection closed after a malformed WebSocket frame: ${error.message}${error.code ? ` (${error.code})` : ''}`));
  const reply = (message: ServerMessage) => {
    if (socket.readyState === socket.OPEN) socket.send(encodeMessage(message));
  };
  const refuse = (problem: string) => {
    log(`RPC connection closed: ${problem}`);
    socket.close(UNSUPPORTED_DATA, problem);
    setTimeout(() => socket.terminate(), CLOSE_GRACE_MS).unref();
  };
  return {
    send: reply as (message: unknown) => void,
    onMessage(handler) {
      socket.on('message', (raw: RawData, isBinary) => {
        const data = asBuffer(raw);
        if (isBinary) return refuse('binary frames are not RPC messages');
        if (data.length > MAX_RPC_MESSAGE_BYTES) return reply(oversizeError(data));
        const decoded = decodeMessage(data.toString('utf8'));
        if (!decoded.ok) return refuse('a frame is not JSON');
        handler(decoded.message);
      });
    },
    onClose(handler) {
      socket.on('close', handler);
    },
    close() {
      socket.close();
    },
  };
}

function oversizeError(data: Buffer): ServerMessage {
  const call = CALL_PREFIX.exec(data.subarray(0, 200).toString('latin1'));
  const what = call ? `The ${call[2]} call` : 'An RPC message';
  return {
    t: 'error',
    id: call ? Number(call[1]) : null,
    error: {
      code: 'resource-exhausted',
      message: `${what} is ${data.length} bytes; Virtdesk accepts RPC messages of at most ${MAX_RPC_MESSAGE_BYTES} bytes (${formatBytes(MAX_RPC_MESSAGE_BYTES)}).`,
      hint: 'Send less in one call. Disk images and ISOs are added by path, import or download, never through a call.',
    },
  };
}

function asBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  return Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
}
