import { EngineError } from '../../api/errors';
import type { ArgvInput } from './types';

/** `sun_path` holds 108 bytes including the terminating NUL. */
export const MAX_UNIX_SOCKET_PATH = 107;

/** Every unix socket the command line makes QEMU bind or connect to. */
export function unixSocketPaths(input: ArgvInput): string[] {
  const { definition: def, paths } = input;
  const sockets = [paths.qmpSocket];
  if (paths.qmpCommandSocket !== undefined) sockets.push(paths.qmpCommandSocket);
  if (def.display.vnc) sockets.push(paths.vncSocket);
  if (def.serial) sockets.push(paths.serialSocket);
  for (const backend of Object.values(input.nicBackends ?? {})) {
    if (backend.type === 'dgram-unix') sockets.push(backend.localPath, backend.remotePath);
  }
  return sockets;
}

/** QEMU would fail with "UNIX socket path ... is too long"; say it before, with what to do. */
export function assertSocketPathsFit(input: ArgvInput): void {
  for (const path of unixSocketPaths(input)) {
    const bytes = Buffer.byteLength(path);
    if (bytes > MAX_UNIX_SOCKET_PATH) {
      throw new EngineError('invalid-argument', `The socket path ${path} is ${bytes} bytes long; unix sockets allow at most ${MAX_UNIX_SOCKET_PATH}`, {
        hint: 'Set VIRTDESK_RUNTIME_DIR (or XDG_RUNTIME_DIR) to a shorter folder.',
        details: { path },
      });
    }
  }
}
