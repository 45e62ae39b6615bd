import type { RfbChannel } from '@novnc/novnc';
import type { ConsoleKind } from '../../../../engine/api/vm-api';
import type { VirtdeskClient } from '../api/client';
import { hostBridge } from '../api/bridge-transport';
import { listenForConsolePorts, takeConsolePort } from './electron-ports';
import { messagePortChannel, type CloseInfo, type PortLike } from './message-port-channel';

export type { CloseInfo };

/**
 * One open console stream: the channel noVNC or xterm reads and writes, and how it ends. QEMU
 * speaks first: set `onmessage` (or hand the channel to noVNC) right away, in the task that got
 * the stream, or a WebSocket drops what arrives before.
 */
export interface ConsoleStream {
  channel: RfbChannel;
  /** One-time VNC password for this viewer; null for serial. */
  password: string | null;
  /** Resolves once the stream has ended, with why. */
  closed: Promise<CloseInfo>;
}

/** ws(s)://<this host>/console?ticket=… under `virtdesk serve`; the session cookie rides along. */
export function consoleUrl(location: Location, ticket: string): string {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}/console?ticket=${encodeURIComponent(ticket)}`;
}

const CLOSE_TEXT: Record<number, string> = {
  1000: 'The console stream closed',
  1006: 'The connection to the Virtdesk host dropped',
  1011: 'The VM console is not reachable',
};

function webSocketStream(url: string, password: string | null): ConsoleStream {
  const socket = new WebSocket(url);
  socket.binaryType = 'arraybuffer';
  const closed = new Promise<CloseInfo>((resolve) =>
    socket.addEventListener('close', (event) => resolve({ code: event.code, reason: event.reason || CLOSE_TEXT[event.code] || `closed (${event.code})`, wasClean: event.wasClean })),
  );
  return { channel: socket as unknown as RfbChannel, password, closed };
}

/**
 * Opens a console of a running VM: asks the engine for a ticket (and, for VNC, a one-time
 * password), then connects the stream the way this host delivers it: a WebSocket to /console under
 * `serve`, a MessagePort under Electron. Both come back as the same WebSocket-like channel.
 */
export async function openConsoleChannel(client: VirtdeskClient, vmId: string, kind: ConsoleKind): Promise<ConsoleStream> {
  const electron = hostBridge() !== undefined;
  if (electron) listenForConsolePorts();
  const { ticket, expiresInMs, password } = await client.api.vms.openConsole({ id: vmId, kind });
  if (!electron) return webSocketStream(consoleUrl(window.location, ticket), password);
  const port = await takeConsolePort(ticket, expiresInMs);
  const channel = messagePortChannel(port as unknown as PortLike);
  return { channel, password, closed: channel.closed };
}
