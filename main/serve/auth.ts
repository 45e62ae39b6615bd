import { randomBytes, timingSafeEqual } from 'node:crypto';
import { SESSION_ENDED_CLOSE_CODE } from '../../engine/api/protocol';

export const SESSION_COOKIE = 'virtdesk_session';

function secret(): string {
  return randomBytes(32).toString('base64url');
}

function sameSecret(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** How long a browser session lasts: at most `maxAgeMs` after sign-in, and `idleMs` after its last use. */
export interface SessionLifetime {
  idleMs: number;
  maxAgeMs: number;
}

export const DEFAULT_SESSION_LIFETIME: SessionLifetime = { idleMs: 30 * 60_000, maxAgeMs: 12 * 3600_000 };

export { SESSION_ENDED_CLOSE_CODE };

interface Session {
  createdAt: number;
  lastUsedAt: number;
  /** Open WebSockets: while one is open the page is in use, so the session is not idle. */
  sockets: Set<{ close(code: number, reason: string): void }>;
}

/**
 * The launch token printed in the URL is good for exactly one exchange; it becomes an HttpOnly,
 * SameSite=Strict session cookie. Anything else needs that cookie. Sessions end after
 * `idleMs` without a request or an open WebSocket, and `maxAgeMs` after sign-in whatever happens.
 */
export class SessionAuth {
  private launchToken: string | undefined = secret();
  private readonly sessions = new Map<string, Session>();

  readonly lifetime: SessionLifetime;
  private readonly now: () => number;
  private readonly onEnded: (count: number) => void;

  constructor(options: { lifetime?: SessionLifetime; now?: () => number; onEnded?: (count: number) => void } = {}) {
    this.lifetime = options.lifetime ?? DEFAULT_SESSION_LIFETIME;
    this.now = options.now ?? Date.now;
    this.onEnded = options.onEnded ?? (() => {});
  }

  /** The token to print in the launch URL. Throws once it has been used. */
  get token(): string {
    if (!this.launchToken) throw new Error('the launch token was already exchanged');
    return this.launchToken;
  }

  /** A fresh launch token, for a second browser or a new session (the old one stops working). */
  rotateToken(): string {
    this.launchToken = secret();
    return this.launchToken;
  }

  /** Exchanges the one-time token for a session id, or returns undefined. */
  exchange(candidate: string | null): string | undefined {
    if (!candidate || !this.launchToken || !sameSecret(candidate, this.launchToken)) return undefined;
    this.launchToken = undefined;
    const session = secret();
    const now = this.now();
    this.sessions.set(session, { createdAt: now, lastUsedAt: now, sockets: new Set() });
    return session;
  }

  /** The live session carried by a Cookie header, marked as used; undefined when unknown or ended. */
  sessionOf(cookieHeader: string | undefined): string | undefined {
    const value = readCookie(cookieHeader, SESSION_COOKIE);
    if (!value) return undefined;
    this.expire();
    for (const [session, entry] of this.sessions) {
      if (!sameSecret(session, value)) continue;
      entry.lastUsedAt = this.now();
      return session;
    }
    return undefined;
  }

  /** Ties an open WebSocket to its session: it keeps the session in use, and is closed when the session ends. */
  attach(session: string, socket: { close(code: number, reason: string): void; once(event: 'close', listener: () => void): unknown }): void {
    const entry = this.sessions.get(session);
    if (!entry) return socket.close(SESSION_ENDED_CLOSE_CODE, 'session ended');
    entry.sockets.add(socket);
    socket.once('close', () => {
      entry.sockets.delete(socket);
      entry.lastUsedAt = this.now();
    });
  }

  /** Ends every session past its lifetime, closing its sockets; returns how many ended. */
  expire(): number {
    const now = this.now();
    let ended = 0;
    for (const [session, entry] of this.sessions) {
      const idle = entry.sockets.size === 0 && now - entry.lastUsedAt >= this.lifetime.idleMs;
      if (!idle && now - entry.createdAt < this.lifetime.maxAgeMs) continue;
      this.sessions.delete(session);
      ended++;
      for (const socket of entry.sockets) socket.close(SESSION_ENDED_CLOSE_CODE, 'session ended');
    }
    if (ended > 0) this.onEnded(ended);
    return ended;
  }

  cookieFor(session: string, secure: boolean): string {
    const maxAge = Math.floor(this.lifetime.maxAgeMs / 1000);
    return `${SESSION_COOKIE}=${session}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${maxAge}${secure ? '; Secure' : ''}`;
  }
}

export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
