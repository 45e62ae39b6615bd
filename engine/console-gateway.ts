import type { PeerInfo } from './api/contract';

/** A console stream of a running VM: its kind and the unix socket QEMU serves it on. */
export interface ConsoleTarget {
  vmId: string;
  kind: 'vnc' | 'serial';
  socketPath: string;
}

/**
 * How a host hands a console to the peer that asked for it: `serve` issues a single-use ticket
 * for its /console WebSocket; Electron transfers a MessagePort. The engine prepares the VM side
 * (one-time VNC password) and asks the gateway for the rest.
 */
export interface ConsoleGateway {
  open(target: ConsoleTarget, peer: PeerInfo): { ticket: string; expiresInMs: number };
}
