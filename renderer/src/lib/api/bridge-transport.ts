import type { Transport } from '../../../../engine/api/transport';

/** What the Electron preload exposes as `window.virtdeskHost`. */
export interface HostBridge {
  kind: 'electron';
  send(message: unknown): void;
  onMessage(handler: (message: unknown) => void): void;
}

export function hostBridge(): HostBridge | undefined {
  return (window as unknown as { virtdeskHost?: HostBridge }).virtdeskHost;
}

/** The RPC transport under Electron: the preload's message pipe to the main process. */
export function bridgeTransport(bridge: HostBridge): Transport {
  return {
    send: (message) => bridge.send(message),
    onMessage: (handler) => bridge.onMessage(handler),
    // The pipe lives as long as the window; there is nothing to close.
    onClose: () => {},
    close: () => {},
  };
}
