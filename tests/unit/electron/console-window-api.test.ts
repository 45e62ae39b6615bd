import { describe, expect, it } from 'vitest';
import type { ImplementationOf } from '../../../engine/api/contract';
import { createEventBus } from '../../../engine/api/events';
import { createRpcClient } from '../../../engine/api/rpc-client';
import { serveRpc } from '../../../engine/api/rpc-server';
import { createMemoryTransportPair } from '../../../engine/api/transport';
import { virtdeskContract, type VirtdeskContract } from '../../../engine/api/virtdesk-api';
import { createHostService } from '../../../engine/host/host-service';
import { withConsoleWindows } from '../../../main/electron/app';

function client(implementation: ImplementationOf<VirtdeskContract>) {
  const [clientSide, serverSide] = createMemoryTransportPair();
  serveRpc(virtdeskContract, implementation, createEventBus<Record<string, unknown>>(), serverSide);
  return createRpcClient(virtdeskContract, clientSide);
}

describe('host.openConsoleWindow', () => {
  it('answers opened: false on a host without windows (serve), so the renderer opens #/console/<id> itself', async () => {
    const api = client({ host: createHostService({ home: '/nonexistent', hostKind: 'serve' }) } as ImplementationOf<VirtdeskContract>).api;
    expect(await api.host.openConsoleWindow({ id: 'vm-1' })).toEqual({ opened: false });
  });

  it('opens the Electron console window for the VM and answers opened: true', async () => {
    const opened: string[] = [];
    const base = { host: createHostService({ home: '/nonexistent', hostKind: 'electron' }) } as ImplementationOf<VirtdeskContract>;
    const api = client(withConsoleWindows(base, async (id) => void opened.push(id))).api;
    expect(await api.host.openConsoleWindow({ id: 'vm-1' })).toEqual({ opened: true });
    expect(opened).toEqual(['vm-1']);
  });

  it('refuses ids that are not ids before anything runs', async () => {
    const opened: string[] = [];
    const base = { host: createHostService({ home: '/nonexistent', hostKind: 'electron' }) } as ImplementationOf<VirtdeskContract>;
    const api = client(withConsoleWindows(base, async (id) => void opened.push(id))).api;
    await expect(api.host.openConsoleWindow({ id: '' })).rejects.toMatchObject({ code: 'invalid-argument' });
    await expect(api.host.openConsoleWindow({ id: 'x'.repeat(65) })).rejects.toMatchObject({ code: 'invalid-argument' });
    expect(opened).toEqual([]);
  });
});
