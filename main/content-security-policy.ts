/**
 * The one CSP of the renderer, whichever host serves it (Electron's app:// scheme or serve):
 * only the app's own scripts, no inline scripts, no plugins, no framing, no form posts.
 * Inline styles are allowed for Svelte's style bindings.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'none'",
].join('; ');
