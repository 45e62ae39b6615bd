import { connect } from 'node:net';
import { EngineError } from '../../api/errors';
import type { ByteChannel } from './channel';

/** Connects to a libvirt daemon's unix socket. */
export function connectUnixSocket(path: string, options: { timeoutMs: number; signal?: AbortSignal }): Promise<ByteChannel> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    const fail = (error: Error): void => {
      cleanup();
      socket.destroy();
      reject(error);
    };
    const onError = (error: NodeJS.ErrnoException): void => fail(socketError(path, error));
    const onAbort = (): void => fail(new EngineError('cancelled', `Connecting to ${path} was cancelled.`));
    const timer = setTimeout(() => fail(new EngineError('timeout', `No answer from the libvirt daemon at ${path} within ${options.timeoutMs} ms.`)), options.timeoutMs);
    const cleanup = (): void => {
      clearTimeout(timer);
      socket.off('error', onError);
      options.signal?.removeEventListener('abort', onAbort);
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('error', onError);
    socket.once('connect', () => {
      cleanup();
      let lastError: Error | undefined;
      socket.on('error', (error) => (lastError = error));
      const closed = new Promise<Error | undefined>((settle) => socket.once('close', () => settle(lastError)));
      resolve({
        label: path,
        write: (data) => { socket.write(data); },
        onData: (listener) => { socket.on('data', listener); },
        closed,
        close: () => { socket.destroy(); },
      });
    });
  });
}

function socketError(path: string, error: NodeJS.ErrnoException): EngineError {
  if (error.code === 'ENOENT' || error.code === 'ECONNREFUSED') {
    return new EngineError('unavailable', `No libvirt daemon listens at ${path}.`, {
      hint: 'Start libvirt on this computer (systemctl start libvirtd, or virtqemud on newer systems), then connect again.',
      cause: error,
    });
  }
  if (error.code === 'EACCES' || error.code === 'EPERM') {
    return new EngineError('permission-denied', `Not allowed to open libvirt's socket ${path}.`, {
      hint: 'Join the libvirt group (sudo usermod -aG libvirt $USER, then log in again), or use qemu:///session.',
      cause: error,
    });
  }
  return new EngineError('unavailable', `Could not connect to libvirt at ${path}: ${error.message}`, { cause: error });
}
