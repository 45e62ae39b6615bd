/**
 * Under Electron, a console stream arrives as a MessagePort posted to this window by the preload,
 * tagged with the ticket `vms.openConsole` returned. It may arrive before the RPC answer does, so
 * ports are kept by ticket until asked for.
 */
const CONSOLE_MESSAGE = 'virtdesk:console';
const arrived = new Map<string, MessagePort>();
const waiting = new Map<string, (port: MessagePort) => void>();
let listening = false;

export function listenForConsolePorts(): void {
  if (listening) return;
  listening = true;
  window.addEventListener('message', (event: MessageEvent) => {
    if (event.source !== window || event.origin !== window.location.origin) return;
    const data = event.data as { type?: unknown; ticket?: unknown } | null;
    const port = event.ports[0];
    if (data?.type !== CONSOLE_MESSAGE || typeof data.ticket !== 'string' || !port) return;
    const waiter = waiting.get(data.ticket);
    if (waiter) {
      waiting.delete(data.ticket);
      waiter(port);
    } else {
      arrived.set(data.ticket, port);
    }
  });
}

export function takeConsolePort(ticket: string, timeoutMs: number): Promise<MessagePort> {
  const port = arrived.get(ticket);
  if (port) {
    arrived.delete(ticket);
    return Promise.resolve(port);
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      waiting.delete(ticket);
      reject(new Error('The console stream did not arrive from the Virtdesk host.'));
    }, timeoutMs);
    waiting.set(ticket, (arrivedPort) => {
      clearTimeout(timer);
      resolve(arrivedPort);
    });
  });
}
