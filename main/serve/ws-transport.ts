import type { WebSocket } from 'ws';
import type { Transport } from '../../engine/api/transport';

/** Largest RPC message accepted; console streams use their own sockets. */
export const MAX_RPC_MESSAGE_BYTES = 1024 * 1024;

/** Adapts a server-side `ws` socket to the RPC transport: one JSON text frame per message. */
export function wsTransport(socket: WebSocket, onBadFrame: (problem: string) => void): Transport {
  return {
    send(message) {
      if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(message));
    },
    onMessage(handler) {
      socket.on('message', (data, isBinary) => {
        if (isBinary) return onBadFrame('binary frames are not RPC messages');
        let parsed: unknown;
        try {
          parsed = JSON.parse(data.toString());
        } catch {
          return onBadFrame('frame is not JSON');
        }
        handler(parsed);
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
