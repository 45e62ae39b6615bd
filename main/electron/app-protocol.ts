import { pathToFileURL } from 'node:url';
import { ELECTRON_CSP, rendererFileFor } from './security';

export interface AppProtocolDeps {
  rendererRoot: string;
  /** Reads a file URL: Electron's `net.fetch` (it reads inside app.asar too). */
  fetchFile(fileUrl: string): Promise<Response>;
  /** True when the path is a regular file (never a folder listing); asar-aware under Electron. */
  isFile(path: string): Promise<boolean>;
}

/** Headers on every app:// response, errors included. */
function securityHeaders(headers = new Headers()): Headers {
  headers.set('Content-Security-Policy', ELECTRON_CSP);
  headers.set('X-Content-Type-Options', 'nosniff');
  headers.set('Referrer-Policy', 'no-referrer');
  return headers;
}

function refusal(status: number, text: string): Response {
  const headers = securityHeaders();
  headers.set('Content-Type', 'text/plain; charset=utf-8');
  return new Response(text, { status, headers });
}

/**
 * The handler of the app:// scheme (`protocol.handle`): files below the renderer folder only, read
 * only, each response with the app's strict CSP. Anything else is a 404 that says nothing more.
 */
export function appProtocolHandler(deps: AppProtocolDeps): (request: Request) => Promise<Response> {
  return async (request) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') return refusal(405, 'Method not allowed');
    const file = rendererFileFor(request.url, deps.rendererRoot);
    if (!file || !(await deps.isFile(file).catch(() => false))) return refusal(404, 'Not found');
    let response: Response;
    try {
      response = await deps.fetchFile(pathToFileURL(file).toString());
    } catch {
      return refusal(404, 'Not found');
    }
    return new Response(request.method === 'HEAD' ? null : response.body, { status: response.status, headers: securityHeaders(new Headers(response.headers)) });
  };
}
