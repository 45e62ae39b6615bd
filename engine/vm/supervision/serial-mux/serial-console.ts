import { connect, type Socket } from 'node:net';

/** Where a viewer reaches a VM's serial console. */
export interface SerialConsoleEndpoint {
  path: string;
  /**
   * true: the supervisor's multiplexer, shared with any other viewer. false: QEMU's own socket
   * (no supervisor runs), which serves one viewer at a time.
   */
  shared: boolean;
}

function connectOnce(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    const onError = (error: Error) => {
      socket.destroy();
      reject(error);
    };
    socket.once('error', onError);
    socket.once('connect', () => {
      socket.off('error', onError);
      resolve(socket);
    });
  });
}

/**
 * Connects to the serial console: the multiplexer when one is listening, else QEMU's socket.
 * The caller owns the returned (connected) socket.
 */
export async function connectSerialConsole(paths: { serialMuxSocket: string; serialSocket: string }): Promise<{ socket: Socket } & SerialConsoleEndpoint> {
  try {
    return { socket: await connectOnce(paths.serialMuxSocket), path: paths.serialMuxSocket, shared: true };
  } catch {
    // No supervisor (CLI-only use), or one killed a moment ago: QEMU's own socket.
    return { socket: await connectOnce(paths.serialSocket), path: paths.serialSocket, shared: false };
  }
}

/**
 * The path a console gateway should connect to: the multiplexer when it accepts a connection now,
 * else QEMU's socket. The probe connection is closed at once (the mux just sees a viewer come and go).
 */
export async function serialConsoleEndpoint(paths: { serialMuxSocket: string; serialSocket: string }): Promise<SerialConsoleEndpoint> {
  try {
    (await connectOnce(paths.serialMuxSocket)).destroy();
    return { path: paths.serialMuxSocket, shared: true };
  } catch {
    return { path: paths.serialSocket, shared: false };
  }
}
