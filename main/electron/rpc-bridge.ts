import type { ImplementationOf, PeerInfo } from '../../engine/api/contract';
import type { EventBus } from '../../engine/api/events';
import { serveRpc } from '../../engine/api/rpc-server';
import type { Transport } from '../../engine/api/transport';
import { decodeMessage, encodeMessage } from '../../engine/api/wire';
import { virtdeskContract, type VirtdeskContract } from '../../engine/api/virtdesk-api';
import { isTrustedUrl } from './security';

export const RPC_CHANNEL = 'virtdesk:rpc';

/** The peer of a window's RPC connection; console ports go back to that window only. */
export function peerOfWindow(contentsId: number): PeerInfo {
  return { connectionId: `window-${contentsId}`, kind: 'app' };
}

export function windowIdOf(peer: PeerInfo): number | undefined {
  const match = /^window-(\d+)$/.exec(peer.connectionId);
  return match ? Number(match[1]) : undefined;
}

/** The part of a WebContents the bridge uses. */
export interface RpcContents {
  readonly id: number;
  isDestroyed(): boolean;
  send(channel: string, message: unknown): void;
  once(event: 'destroyed', listener: () => void): unknown;
  on(event: 'did-navigate' | 'render-process-gone', listener: () => void): unknown;
}

/** What an `ipcMain` message event carries that the bridge checks. */
export interface RpcIpcEvent {
  sender: RpcContents;
  senderFrame: { url: string } | null;
}

export interface RpcIpcMain {
  on(channel: string, listener: (event: RpcIpcEvent, message: unknown) => void): unknown;
}

/** One window's end of the RPC: a transport, and `receive` for the JSON text its page sends. */
export interface WindowTransport extends Transport {
  /** Hands a frame from the page to the RPC; the problem in words when it is not a message. */
  receive(frame: unknown): string | undefined;
}

/**
 * The main-process side of a window's RPC connection. Messages cross as JSON text (engine/api/wire.ts)
 * like on serve's WebSocket: Electron's IPC would otherwise structured-clone them, and values that
 * survive a structured clone but not JSON (undefined fields, Dates, Maps) would behave differently.
 */
export function windowTransport(contents: Pick<RpcContents, 'isDestroyed' | 'send'>): WindowTransport {
  const handlers: ((message: unknown) => void)[] = [];
  const closeHandlers: (() => void)[] = [];
  let closed = false;
  return {
    send: (message) => {
      if (!closed && !contents.isDestroyed()) contents.send(RPC_CHANNEL, encodeMessage(message));
    },
    onMessage: (handler) => handlers.push(handler),
    onClose: (handler) => closeHandlers.push(handler),
    close: () => {
      if (closed) return;
      closed = true;
      closeHandlers.forEach((handler) => handler());
    },
    receive: (frame) => {
      if (closed) return undefined;
      const decoded = decodeMessage(frame);
      if (!decoded.ok) return decoded.problem;
      handlers.forEach((handler) => handler(decoded.message));
      return undefined;
    },
  };
}

/** What the bridge serves: the engine's implementation of the contract and its event bus. */
export interface RpcEndpoint {
  implementation: ImplementationOf<VirtdeskContract>;
  bus: EventBus<Record<string, unknown>>;
}

/**
 * Serves the RPC to every window over one IPC channel: a connection per WebContents (a new one
 * after the page reloads), and every message's sender frame checked against the app's own origin
 * before it reaches the engine. Messages from any other frame are dropped unanswered.
 */
export function serveRpcOverIpc(ipcMain: RpcIpcMain, endpoint: RpcEndpoint, log: (line: string) => void): void {
  const connections = new Map<number, { deliver(frame: unknown): void; close(): void }>();

  const connectionFor = (contents: RpcContents) => {
    const existing = connections.get(contents.id);
    if (existing) return existing;
    const transport = windowTransport(contents);
    const connection = {
      deliver: (frame: unknown) => {
        const problem = transport.receive(frame);
        if (problem) log(`RPC protocol error from window ${contents.id}: ${problem}`);
      },
      close: () => {
        if (connections.get(contents.id) === connection) connections.delete(contents.id);
        transport.close();
      },
    };
    connections.set(contents.id, connection);
    serveRpc(virtdeskContract, endpoint.implementation, endpoint.bus, transport, {
      peer: peerOfWindow(contents.id),
      onProtocolError: (problem) => log(`RPC protocol error from window ${contents.id}: ${problem}`),
    });
    return connection;
  };

  const forget = (contents: RpcContents) => connections.get(contents.id)?.close();
  const watched = new WeakSet<RpcContents>();

  ipcMain.on(RPC_CHANNEL, (event, message) => {
    const url = event.senderFrame?.url;
    if (!isTrustedUrl(url)) {
      log(`dropped RPC message from untrusted frame ${url ?? '(gone)'}`);
      return;
    }
    const contents = event.sender;
    if (!watched.has(contents)) {
      watched.add(contents);
      // A reload or a crash starts a new page with a new client: its calls, ids and subscriptions
      // must not meet the old connection's.
      contents.once('destroyed', () => forget(contents));
      contents.on('did-navigate', () => forget(contents));
      contents.on('render-process-gone', () => forget(contents));
    }
    connectionFor(contents).deliver(message);
  });
}
