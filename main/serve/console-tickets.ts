import { randomBytes } from 'node:crypto';
import type { PeerInfo } from '../../engine/api/contract';
import { EngineError } from '../../engine/api/errors';
import type { ConsoleGateway, ConsoleTarget } from '../../engine/console-gateway';

export const CONSOLE_TICKET_TTL_MS = 30_000;


interface Entry extends ConsoleTarget {
  session: string;
  expiresAt: number;
}

/**
 * Console tickets: single use, bound to one VM, one kind and one browser session, and valid for
 * at most 30 s. A WebSocket to /console must present one; nothing else opens a console.
 */
export class ConsoleTickets implements ConsoleGateway {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly now: () => number = Date.now) {}

  open(target: ConsoleTarget, peer: PeerInfo): { ticket: string; expiresInMs: number } {
    if (!peer.session) throw new EngineError('permission-denied', 'Consoles are opened only by a signed-in browser session.');
    return this.issue(target, peer.session);
  }

  issue(target: ConsoleTarget, session: string, ttlMs = CONSOLE_TICKET_TTL_MS): { ticket: string; expiresInMs: number } {
    this.sweep();
    const ticket = randomBytes(24).toString('base64url');
    const expiresInMs = Math.min(ttlMs, CONSOLE_TICKET_TTL_MS);
    this.entries.set(ticket, { ...target, session, expiresAt: this.now() + expiresInMs });
    return { ticket, expiresInMs };
  }

  /** Returns the target and burns the ticket; undefined when unknown, used, expired or another session's. */
  redeem(ticket: string | null, session: string): ConsoleTarget | undefined {
    if (!ticket) return undefined;
    const entry = this.entries.get(ticket);
    if (!entry) return undefined;
    this.entries.delete(ticket);
    if (entry.session !== session || entry.expiresAt < this.now()) return undefined;
    return { vmId: entry.vmId, kind: entry.kind, socketPath: entry.socketPath };
  }

  private sweep(): void {
    const now = this.now();
    for (const [ticket, entry] of this.entries) if (entry.expiresAt < now) this.entries.delete(ticket);
  }
}
