import type { Transport } from '../../../../engine/api/transport';
import { decodeMessage, encodeMessage } from '../../../../engine/api/wire';

/** What the Electron preload exposes as `window.virtdeskHost`. */
export interface HostBridge {
  kind: 'electron';
  /** One RPC message as JSON text. */
  send(text: string): void;
  onMessage(handler: (text: unknown) => void): void;
}

export function hostBridge(): HostBridge | undefined {
  return (window as unknown as { virtdeskHost?: HostBridge }).virtdeskHost;
}

/** The RPC transport under Electron: the preload's message pipe to the main process, JSON text both ways. */
export function bridgeTransport(bridge: HostBridge): Transport {
  return {
    send: (message) => bridge.send(encodeMessage(message)),
    onMessage: (handler) =>
      bridge.onMessage((text) => {
        const decoded = decodeMessage(text);
        if (decoded.ok) handler(decoded.message);
      }),
    // The pipe lives as long as the window; there is nothing to close.
    onClose: () => {},
    close: () => {},
  };
}
