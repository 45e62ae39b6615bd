/**
 * DNS-rebinding protection: a request must name one of our own host:port pairs in Host, and a
 * WebSocket upgrade must come from one of our own origins.
 */
export class OriginPolicy {
  private readonly hosts: Set<string>;
  private readonly origins: Set<string>;

  constructor(names: readonly string[], port: number, scheme: 'http' | 'https') {
    this.hosts = new Set(names.map((name) => `${name}:${port}`.toLowerCase()));
    this.origins = new Set([...this.hosts].map((host) => `${scheme}://${host}`));
  }

  hostAllowed(host: string | undefined): boolean {
    return host !== undefined && this.hosts.has(host.toLowerCase());
  }

  originAllowed(origin: string | undefined): boolean {
    return origin !== undefined && this.origins.has(origin.toLowerCase());
  }
}

/** Host names a loopback listener answers to. */
export function loopbackNames(bindAddress: string): string[] {
  const names = ['localhost', '127.0.0.1', '[::1]'];
  if (!['127.0.0.1', '::1', 'localhost'].includes(bindAddress)) names.push(bindAddress.includes(':') ? `[${bindAddress}]` : bindAddress);
  return names;
}
