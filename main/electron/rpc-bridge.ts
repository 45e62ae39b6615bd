import type { IpcMain, IpcMainEvent, WebContents } from 'electron';
import type { PeerInfo } from '../../engine/api/contract';
import { serveRpc } from '../../engine/api/rpc-server';
import type { Transport } from '../../engine/api/transport';
import { virtdeskContract } from '../../engine/api/virtdesk-api';
import type { Engine } from '../../engine/engine';
import { isTrustedUrl } from './security';

export const RPC_CHANNEL = 'virtdesk:rpc';

/** The peer of a window's RPC connection; console ports go back to that window only. */
export function peerOfWindow(contentsId: number): PeerInfo {
  return { connectionId: `window-${contentsId}` };
}

export function windowIdOf(peer: PeerInfo): number | undefined {
  const match = /^window-(\d+)$/.exec(peer.connectionId);
  return match ? Number(match[1]) : undefined;
}

/**
 * Serves the RPC to every window over one IPC channel: a transport per WebContents, and every
 * message's sender frame checked against the app's own origin before it reaches the engine.
 */
export function serveRpcOverIpc(ipcMain: IpcMain, engine: Engine, log: (line: string) => void): void {
  const transports = new Map<number, { deliver(message: unknown): void }>();

  const transportFor = (contents: WebContents) => {
    const existing = transports.get(contents.id);
    if (existing) return existing;
    const handlers: ((message: unknown) => void)[] = [];
    const closeHandlers: (() => void)[] = [];
    const transport: Transport = {
      send: (message) => {
        if (!contents.isDestroyed()) contents.send(RPC_CHANNEL, message);
      },
      onMessage: (handler) => handlers.push(handler),
      onClose: (handler) => closeHandlers.push(handler),
      close: () => closeHandlers.forEach((handler) => handler()),
    };
    const entry = { deliver: (message: unknown) => handlers.forEach((handler) => handler(message)) };
    transports.set(contents.id, entry);
    contents.once('destroyed', () => {
      transports.delete(contents.id);
      transport.close();
    });
    serveRpc(virtdeskContract, engine.implementation, engine.bus, transport, {
      peer: peerOfWindow(contents.id),
      onProtocolError: (problem) => log(`RPC protocol error from window ${contents.id}: ${problem}`),
    });
    return entry;
  };

  ipcMain.on(RPC_CHANNEL, (event: IpcMainEvent, message: unknown) => {
    if (!isTrustedUrl(event.senderFrame?.url)) {
      log(`dropped RPC message from untrusted frame ${event.senderFrame?.url ?? '(gone)'}`);
      return;
    }
    transportFor(event.sender).deliver(message);
  });
}
