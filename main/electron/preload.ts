/// <reference lib="dom" />
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';

// The only contextBridge file (DESIGN.md rule 2). It exposes a message pipe for the typed RPC and
// nothing else: no ipcRenderer, no Node. Messages are JSON text (engine/api/wire.ts), as on every
// other transport; the renderer validates everything it receives.
const RPC_CHANNEL = 'virtdesk:rpc';
const CONSOLE_CHANNEL = 'virtdesk:console';

// Console streams arrive as MessagePorts; hand them to the page with their ticket, same origin only.
ipcRenderer.on(CONSOLE_CHANNEL, (event: IpcRendererEvent, data: { ticket: string }) => {
  window.postMessage({ type: CONSOLE_CHANNEL, ticket: data.ticket }, window.location.origin, event.ports);
});

contextBridge.exposeInMainWorld('virtdeskHost', {
  kind: 'electron',
  send(text: string): void {
    if (typeof text === 'string') ipcRenderer.send(RPC_CHANNEL, text);
  },
  onMessage(handler: (text: string) => void): void {
    ipcRenderer.on(RPC_CHANNEL, (_event: IpcRendererEvent, text: unknown) => {
      if (typeof text === 'string') handler(text);
    });
  },
});
