import type { MessagePortMain } from 'electron';
import { randomBytes } from 'node:crypto';
import { connect as netConnect, type Socket } from 'node:net';
import type { PeerInfo } from '../../engine/api/contract';
import { EngineError } from '../../engine/api/errors';
import type { ConsoleGateway, ConsoleTarget } from '../../engine/console-gateway';
import { windowIdOf } from './rpc-bridge';
import { isTrustedUrl } from './security';

export const CONSOLE_CHANNEL = 'virtdesk:console';

export interface ConsolePortDeps {
  /** `new MessageChannelMain()` under Electron. */
  makeChannel(): { port1: MessagePortMain; port2: MessagePortMain };
  /** Sends one end to the window behind `peer`; false when that window is gone. */
  deliver(peer: PeerInfo, ticket: string, port: MessagePortMain): boolean;
  connect?: (path: string) => Socket;
}

/**
 * Electron's console gateway: the VM's unix socket is piped into a MessagePort whose other end
 * goes to the asking window only. The window finds it by the ticket the RPC call returned.
 */
export class ElectronConsoles implements ConsoleGateway {
  constructor(private readonly deps: ConsolePortDeps) {}

  open(target: ConsoleTarget, peer: PeerInfo): { ticket: string; expiresInMs: number } {
    const ticket = randomBytes(18).toString('base64url');
    const { port1, port2 } = this.deps.makeChannel();
    const socket = (this.deps.connect ?? netConnect)(target.socketPath);
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      socket.destroy();
      port1.close();
    };
    socket.on('data', (chunk: Buffer) => port1.postMessage(chunk));
    socket.on('error', close);
    socket.on('close', close);
    port1.on('message', (event: { data: unknown }) => {
      const data = event.data;
      if (data instanceof Uint8Array) socket.write(data);
      else if (data instanceof ArrayBuffer) socket.write(new Uint8Array(data));
    });
    port1.on('close', close);
    port1.start();
    if (!this.deps.deliver(peer, ticket, port2)) {
      close();
      throw new EngineError('unavailable', 'The window that asked for the console is gone.');
    }
    return { ticket, expiresInMs: 30_000 };
  }
}

/** The part of a WebContents a console port is delivered to. */
export interface PortReceiver {
  isDestroyed(): boolean;
  getURL(): string;
  postMessage(channel: string, message: unknown, transfer?: MessagePortMain[]): void;
}

/**
 * `ConsolePortDeps.deliver` for Electron: the port goes to the window whose RPC connection asked
 * (the peer names its WebContents), only while that window still shows the app's own page, and to
 * its main frame only (WebContents.postMessage), where the preload hands it to the page.
 */
export function deliverToAskingWindow(findContents: (id: number) => PortReceiver | undefined): ConsolePortDeps['deliver'] {
  return (peer, ticket, port) => {
    const id = windowIdOf(peer);
    const contents = id === undefined ? undefined : findContents(id);
    if (!contents || contents.isDestroyed() || !isTrustedUrl(contents.getURL())) return false;
    contents.postMessage(CONSOLE_CHANNEL, { ticket }, [port]);
    return true;
  };
}
