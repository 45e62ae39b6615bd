import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it, vi } from 'vitest';

const exposed = new Map<string, Record<string, unknown>>();
const rendererListeners = new Map<string, (event: { ports: unknown[] }, data: unknown) => void>();
const sent: [string, unknown][] = [];

vi.mock('electron', () => ({
  contextBridge: { exposeInMainWorld: (key: string, api: Record<string, unknown>) => exposed.set(key, api) },
  ipcRenderer: {
    send: (channel: string, message: unknown) => sent.push([channel, message]),
    on: (channel: string, listener: (event: { ports: unknown[] }, data: unknown) => void) => rendererListeners.set(channel, listener),
  },
}));

const posted: { message: unknown; targetOrigin: string; ports: unknown[] }[] = [];

beforeAll(async () => {
  vi.stubGlobal('window', {
    location: { origin: 'app://virtdesk' },
    postMessage: (message: unknown, targetOrigin: string, ports: unknown[]) => posted.push({ message, targetOrigin, ports }),
  });
  await import('../../../main/electron/preload');
});

const root = fileURLToPath(new URL('../../..', import.meta.url));

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(join(root, dir), { withFileTypes: true, recursive: true });
  return entries
    .filter((entry) => entry.isFile() && /\.(ts|svelte)$/.test(entry.name))
    .map((entry) => relative(root, join(entry.parentPath, entry.name)));
}

describe('preload', () => {
  it('exposes only the RPC message pipe, as virtdeskHost', () => {
    expect([...exposed.keys()]).toEqual(['virtdeskHost']);
    const api = exposed.get('virtdeskHost')!;
    expect(Object.keys(api).sort()).toEqual(['kind', 'onMessage', 'send']);
    (api.send as (text: unknown) => void)('{"t":"call","id":1}');
    // Only JSON text passes (engine/api/wire.ts); objects would be structured-cloned by IPC.
    (api.send as (text: unknown) => void)({ t: 'call', id: 2 });
    expect(sent).toEqual([['virtdesk:rpc', '{"t":"call","id":1}']]);
  });

  it("hands console ports to the page with their ticket, to the page's own origin only", () => {
    const port = { fake: 'MessagePort' };
    rendererListeners.get('virtdesk:console')!({ ports: [port] }, { ticket: 'T1' });
    expect(posted).toEqual([{ message: { type: 'virtdesk:console', ticket: 'T1' }, targetOrigin: 'app://virtdesk', ports: [port] }]);
  });

  it('is the only file that imports contextBridge or ipcRenderer', async () => {
    const files = [...(await sourceFiles('main')), ...(await sourceFiles('renderer/src')), ...(await sourceFiles('engine'))];
    const users: string[] = [];
    for (const file of files) {
      const text = await readFile(join(root, file), 'utf8');
      if (/import\s*\{[^}]*\b(contextBridge|ipcRenderer)\b[^}]*\}\s*from\s*['"]electron['"]|\.(contextBridge|ipcRenderer)\b/.test(text)) users.push(file);
    }
    expect(users).toEqual(['main/electron/preload.ts']);
  });
});
