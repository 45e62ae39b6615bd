import { randomBytes, timingSafeEqual } from 'node:crypto';

export const SESSION_COOKIE = 'virtdesk_session';

function secret(): string {
  return randomBytes(32).toString('base64url');
}

function sameSecret(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/**
 * The launch token printed in the URL is good for exactly one exchange; it becomes an HttpOnly,
 * SameSite=Strict session cookie. Anything else needs that cookie.
 */
export class SessionAuth {
  private launchToken: string | undefined = secret();
  private readonly sessions = new Set<string>();

  /** The token to print in the launch URL. Throws once it has been used. */
  get token(): string {
    if (!this.launchToken) throw new Error('the launch token was already exchanged');
    return this.launchToken;
  }

  /** A fresh launch token, for a second browser (the old one stops working). */
  rotateToken(): string {
    this.launchToken = secret();
    return this.launchToken;
  }

  /** Exchanges the one-time token for a session id, or returns undefined. */
  exchange(candidate: string | null): string | undefined {
    if (!candidate || !this.launchToken || !sameSecret(candidate, this.launchToken)) return undefined;
    this.launchToken = undefined;
    const session = secret();
    this.sessions.add(session);
    return session;
  }

  /** The session id carried by a Cookie header, when it is one we issued. */
  sessionOf(cookieHeader: string | undefined): string | undefined {
    const value = readCookie(cookieHeader, SESSION_COOKIE);
    if (!value) return undefined;
    for (const session of this.sessions) if (sameSecret(session, value)) return session;
    return undefined;
  }

  cookieFor(session: string, secure: boolean): string {
    return `${SESSION_COOKIE}=${session}; HttpOnly; SameSite=Strict; Path=/${secure ? '; Secure' : ''}`;
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
