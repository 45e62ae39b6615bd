import { SESSION_ENDED_CLOSE_CODE } from '../../../../engine/api/protocol';
import type { Transport } from '../../../../engine/api/transport';
import { decodeMessage, encodeMessage } from '../../../../engine/api/wire';

/**
 * The RPC transport of `virtdesk serve`: a same-origin WebSocket carrying JSON text frames.
 * `onSessionEnded` runs (before the close handlers) when serve closes it because the session ended.
 */
export function connectWebSocket(url: string, onSessionEnded?: () => void): Promise<Transport> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    const messageHandlers: ((message: unknown) => void)[] = [];
    const closeHandlers: (() => void)[] = [];
    socket.onerror = () => reject(new Error(`Could not connect to ${url}`));
    socket.onopen = () => {
      socket.onerror = null;
      resolve({
        send: (message) => socket.send(encodeMessage(message)),
        onMessage: (handler) => messageHandlers.push(handler),
        onClose: (handler) => closeHandlers.push(handler),
        close: () => socket.close(),
      });
    };
    socket.onmessage = (event: MessageEvent) => {
      const decoded = decodeMessage(event.data);
      if (!decoded.ok) return;
      for (const handler of messageHandlers) handler(decoded.message);
    };
    socket.onclose = (event: CloseEvent) => {
      if (event.code === SESSION_ENDED_CLOSE_CODE) onSessionEnded?.();
      closeHandlers.forEach((handler) => handler());
    };
  });
}

export function rpcUrl(location: Location): string {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}/rpc`;
}
