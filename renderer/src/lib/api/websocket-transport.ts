import type { Transport } from '../../../../engine/api/transport';

/** The RPC transport of `virtdesk serve`: a same-origin WebSocket carrying JSON text frames. */
export function connectWebSocket(url: string): Promise<Transport> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    const messageHandlers: ((message: unknown) => void)[] = [];
    const closeHandlers: (() => void)[] = [];
    socket.onerror = () => reject(new Error(`Could not connect to ${url}`));
    socket.onopen = () => {
      socket.onerror = null;
      resolve({
        send: (message) => socket.send(JSON.stringify(message)),
        onMessage: (handler) => messageHandlers.push(handler),
        onClose: (handler) => closeHandlers.push(handler),
        close: () => socket.close(),
      });
    };
    socket.onmessage = (event: MessageEvent) => {
      if (typeof event.data !== 'string') return;
      let message: unknown;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      for (const handler of messageHandlers) handler(message);
    };
    socket.onclose = () => closeHandlers.forEach((handler) => handler());
  });
}

export function rpcUrl(location: Location): string {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}/rpc`;
}
