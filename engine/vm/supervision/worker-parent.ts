// The worker's end of the channel, apart from worker.ts so a worker process does not load
// child_process (which the host's end needs) for nothing.

/** The worker's side of the channel: messages to and from the host, whichever runtime started it. */
export interface ParentPort<In, Out> {
  postMessage(message: Out): void;
  onMessage(listener: (message: In) => void): void;
  /** Called when the host is gone (its process died or closed the channel). */
  onDisconnect(listener: () => void): void;
}

interface ElectronParentPort {
  postMessage(message: unknown): void;
  on(event: 'message', listener: (event: { data: unknown }) => void): void;
}

export function connectToParent<In, Out>(): ParentPort<In, Out> {
  const electronPort = (process as unknown as { parentPort?: ElectronParentPort }).parentPort;
  if (electronPort) {
    return {
      postMessage: (message) => electronPort.postMessage(message),
      onMessage: (listener) => electronPort.on('message', (event) => listener(event.data as In)),
      // Electron ends utility processes together with the app.
      onDisconnect: () => {},
    };
  }
  if (!process.send) throw new Error('connectToParent: this process was not started as a worker (no IPC channel).');
  return {
    postMessage: (message) => {
      if (process.connected) process.send?.(message);
    },
    onMessage: (listener) => process.on('message', (message) => listener(message as In)),
    onDisconnect: (listener) => process.once('disconnect', listener),
  };
}
