import { connect } from 'node:net';
import { createWebSocketStream, type WebSocket } from 'ws';

/**
 * Pipes one viewer's WebSocket to a VM's unix socket (VNC or serial) and back. Both directions
 * are streams, so a slow browser pauses the socket and a slow QEMU pauses the reads.
 */
export function pipeWebSocketToUnixSocket(ws: WebSocket, socketPath: string, log: (line: string) => void): void {
  const socket = connect(socketPath);
  socket.setNoDelay(true);
  const stream = createWebSocketStream(ws);
  let closed = false;
  const close = (why?: Error) => {
    if (closed) return;
    closed = true;
    if (why) log(`console stream ${socketPath}: ${why.message}`);
    socket.destroy();
    stream.destroy();
    if (ws.readyState === ws.OPEN) ws.close(why ? 1011 : 1000, why ? 'The VM console is not reachable' : 'The VM console closed');
  };
  socket.on('error', close);
  stream.on('error', close);
  socket.on('close', () => close());
  stream.on('close', () => close());
  socket.pipe(stream);
  stream.pipe(socket);
}
