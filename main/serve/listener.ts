import { readFile } from 'node:fs/promises';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type ServerOptions as HttpsServerOptions } from 'node:https';
import type { AddressInfo } from 'node:net';
import { EngineError } from '../../engine/api/errors';
import { loopbackNames, OriginPolicy } from './origin';
import { answer } from './security-headers';

export interface ListenOptions {
  host: string;
  port: number;
  allowRemote?: boolean;
  tls?: { certFile: string; keyFile: string };
}

/** A bound HTTP(S) server that answers "starting" until serve hands it its handler. */
export interface Listener {
  server: Server;
  secure: boolean;
  /** The origin to print, e.g. http://127.0.0.1:8090. */
  origin: string;
  policy: OriginPolicy;
  handle(handler: (request: IncomingMessage, response: ServerResponse) => void): void;
  close(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** Checks the listening address against the remote-access rules before anything binds. */
export function checkListenPolicy(options: Pick<ListenOptions, 'host' | 'allowRemote' | 'tls'>): void {
  if (LOOPBACK.has(options.host)) return;
  if (!options.allowRemote) {
    throw new EngineError('permission-denied', `Refusing to listen on ${options.host}: only loopback is served by default.`, {
      hint: 'Pass --allow-remote with --tls-cert and --tls-key to serve other machines, or use --host 127.0.0.1.',
    });
  }
  if (!options.tls) {
    throw new EngineError('invalid-argument', `Serving ${options.host} to other machines needs TLS.`, {
      hint: 'Pass --tls-cert FILE and --tls-key FILE.',
    });
  }
}

/**
 * Binds serve's port, or fails with an error a person can act on (refused address, missing TLS
 * files, port in use). serve does this before its engine starts anything, so a serve that cannot
 * listen never supervises a VM.
 */
export async function listen(options: ListenOptions): Promise<Listener> {
  checkListenPolicy(options);
  let handler = (_request: IncomingMessage, response: ServerResponse) => answer(response, 503, 'Virtdesk is starting; reload in a moment.\n');
  const dispatch = (request: IncomingMessage, response: ServerResponse) => handler(request, response);
  // Checked every second (Node's default is 30 s), so header and request timeouts bite on time.
  const timing = { connectionsCheckingInterval: 1000 };
  const server: Server = options.tls ? httpsServer({ ...(await readTls(options.tls)), ...timing, handshakeTimeout: 10_000 }, dispatch) : createHttpServer(timing, dispatch);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => reject(listenError(error, options)));
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const names = loopbackNames(options.host);
  const scheme = options.tls ? 'https' : 'http';
  const displayHost = LOOPBACK.has(options.host) ? '127.0.0.1' : names[names.length - 1]!;
  return {
    server,
    secure: options.tls !== undefined,
    origin: `${scheme}://${displayHost}:${port}`,
    policy: new OriginPolicy(names, port, scheme),
    handle(next) {
      handler = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function readTls(tls: { certFile: string; keyFile: string }): Promise<{ cert: Buffer; key: Buffer }> {
  const read = (file: string, what: string) =>
    readFile(file).catch((error: NodeJS.ErrnoException) => {
      throw new EngineError('invalid-argument', `Cannot read the TLS ${what} ${file}: ${error.code ?? error.message}.`, {
        hint: `Check the path given to --tls-${what === 'certificate' ? 'cert' : 'key'} and that this user may read it.`,
      });
    });
  return { cert: await read(tls.certFile, 'certificate'), key: await read(tls.keyFile, 'key') };
}

function httpsServer(tls: HttpsServerOptions, dispatch: (request: IncomingMessage, response: ServerResponse) => void): Server {
  try {
    return createHttpsServer(tls, dispatch);
  } catch (error) {
    throw new EngineError('invalid-argument', `The TLS certificate and key cannot be used: ${(error as Error).message}.`, {
      hint: 'Pass a PEM certificate with --tls-cert and its PEM private key with --tls-key.',
    });
  }
}

function listenError(error: NodeJS.ErrnoException, options: ListenOptions): EngineError {
  const where = `${options.host}:${options.port}`;
  switch (error.code) {
    case 'EADDRINUSE':
      return new EngineError('conflict', `Port ${options.port} on ${options.host} is already in use.`, { hint: 'Pass another --port, or --port 0 to pick a free one.' });
    case 'EACCES':
      return new EngineError('permission-denied', `Not allowed to listen on ${where}.`, { hint: 'Ports below 1024 need root; pass a --port of 1024 or more.' });
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
      return new EngineError('invalid-argument', `Cannot listen on ${options.host}: this machine has no such address.`, {
        hint: 'Pass --host with an address of this machine (ip -brief address lists them), or 127.0.0.1.',
      });
    default:
      return new EngineError('unavailable', `Cannot listen on ${where}: ${error.message}`, { cause: error });
  }
}
