// The New-VM wizard's state class against a real engine in a temp home (in-memory RPC): its
// choices become one typed vms.create input, the engine's problems land on fields by path, and
// Finish makes the image and the VM in one call, leaving nothing when the engine refuses.
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createRpcClient } from '../../../engine/api/rpc-client';
import { serveRpc } from '../../../engine/api/rpc-server';
import { createMemoryTransportPair } from '../../../engine/api/transport';
import { virtdeskContract } from '../../../engine/api/virtdesk-api';
import { createEngine, type Engine } from '../../../engine/engine';
import { forkWorkerFactory } from '../../../engine/vm/supervision/worker';
import type { VirtdeskClient } from '../../../renderer/src/lib/api/client';
import { NewVmWizard } from '../../../renderer/src/lib/state/wizard.svelte';
import { createTempHome, type TempHome } from '../../support/leaks';

let home: TempHome;
let engine: Engine;
let client: VirtdeskClient;
let server: { close(): void };
const calls: string[] = [];

beforeEach(async () => {
  home = await createTempHome('vd-wizard-spec-');
  engine = await createEngine({
    home: home.home,
    env: home.env,
    hostKind: 'serve',
    workers: forkWorkerFactory({ execArgv: ['--import', 'tsx'] }),
    supervisorEntry: fileURLToPath(new URL('../../../engine/vm/supervision/supervisor-main.ts', import.meta.url)),
    consoles: { open: () => ({ ticket: 'unused', expiresInMs: 0 }) },
    log: () => undefined,
  });
  const [serverSide, clientSide] = createMemoryTransportPair();
  // Every call the wizard makes passes here on its way to the engine.
  const counted: typeof clientSide = {
    ...clientSide,
    send(message) {
      const call = message as { t: string; method?: string };
      if (call.t === 'call' && call.method) calls.push(call.method);
      clientSide.send(message);
    },
  };
  server = serveRpc(virtdeskContract, engine.implementation, engine.bus, serverSide);
  client = createRpcClient(virtdeskContract, counted, { defaultTimeoutMs: 60_000 });
  calls.length = 0;
});
afterEach(async () => {
  client.close();
  server.close();
  await engine.close();
  await home.cleanup();
});

async function kernelFiles(): Promise<string> {
  const files = join(home.home, 'files');
  await mkdir(files, { recursive: true });
  await writeFile(join(files, 'vmlinuz'), 'kernel');
  return join(files, 'vmlinuz');
}

describe('NewVmWizard', () => {
  it('builds only what was chosen into the input; the engine fills the rest', async () => {
    const wizard = new NewVmWizard(client, () => []);
    wizard.source = 'kernel';
    wizard.kernel = await kernelFiles();
    wizard.storage = 'none';
    wizard.network = 'none';
    expect(wizard.input).toEqual({ name: 'vmlinuz', directKernel: { kernel: wizard.kernel }, nics: [] });
    await wizard.runPreview();
    expect(wizard.engineProblems).toEqual([]);
    expect(wizard.preview?.memory.maximumMiB).toBeGreaterThan(0);
    wizard.dispose();
  });

  it('places the engine’s problems on the wizard’s fields by their paths', async () => {
    const wizard = new NewVmWizard(client, () => []);
    wizard.source = 'kernel';
    wizard.kernel = await kernelFiles();
    wizard.storage = 'none';
    wizard.name = 'bad name!';
    wizard.memoryMiB = 1;
    await wizard.runPreview();
    expect(wizard.problemsFor('name').map((p) => p.message)).toEqual([expect.stringMatching(/^VM name "bad name!" may only contain/)]);
    expect(wizard.problemsFor('memory').map((p) => p.message)).toEqual([expect.stringMatching(/memory must be at least 16 MiB/)]);
    expect(wizard.problemsFor('general')).toEqual([]);
    wizard.dispose();
  });

  it('creates the disk image and the VM with one call', async () => {
    const wizard = new NewVmWizard(client, () => []);
    wizard.source = 'kernel';
    wizard.kernel = await kernelFiles();
    wizard.diskSizeGiB = 0.0625;
    wizard.pool = 'default';
    wizard.name = 'one-call';
    await client.api.storage.listPools({});
    calls.length = 0;
    const created = await wizard.create();
    expect(wizard.createError).toBeUndefined();
    expect(calls).toEqual(['vms.create']);
    expect(created?.definition.disks.map((disk) => disk.source)).toEqual([join(home.home, 'images', 'one-call.qcow2')]);
    expect(await readdir(join(home.home, 'images'))).toEqual(['one-call.qcow2']);
    wizard.dispose();
  });

  it('leaves no image behind when the engine refuses the machine, and says why on the field', async () => {
    const wizard = new NewVmWizard(client, () => []);
    wizard.source = 'kernel';
    wizard.kernel = join(home.home, 'no-such-kernel');
    wizard.diskSizeGiB = 0.0625;
    wizard.pool = 'default';
    wizard.name = 'refused';
    expect(await wizard.create()).toBeUndefined();
    expect(wizard.createError?.message).toMatch(/no-such-kernel does not exist/);
    expect(wizard.problemsFor('kernel').map((p) => p.message)).toEqual([expect.stringMatching(/does not exist/)]);
    expect(await readdir(join(home.home, 'images')).catch(() => [])).toEqual([]);
    wizard.dispose();
  });
});
