import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';

// The only contextBridge file (DESIGN.md rule 2). It exposes a message pipe for the typed RPC and
// nothing else: no ipcRenderer, no Node. The renderer validates everything it receives.
const RPC_CHANNEL = 'virtdesk:rpc';

contextBridge.exposeInMainWorld('virtdeskHost', {
  kind: 'electron',
  send(message: unknown): void {
    ipcRenderer.send(RPC_CHANNEL, message);
  },
  onMessage(handler: (message: unknown) => void): void {
    ipcRenderer.on(RPC_CHANNEL, (_event: IpcRendererEvent, message: unknown) => handler(message));
  },
});
