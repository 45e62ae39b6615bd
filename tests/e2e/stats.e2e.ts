// Stats of running VMs through `virtdesk serve`: each VM's supervisor is the one-file CommonJS
// build started with the supervisor's V8 flags, the VMs' samples of a tick reach a subscribed
// client together in one `vms.stats` event, and the list's sparklines fill from them.
import { readdir, readFile } from 'node:fs/promises';
import { expect, test, type Page } from '@playwright/test';
import { WebSocket } from 'ws';
import { createRpcClient, type RpcClient } from '../../engine/api/rpc-client';
import { virtdeskContract, type VirtdeskContract } from '../../engine/api/virtdesk-api';
import type { VmStats } from '../../engine/api/vm-api';
import { SUPERVISOR_V8_FLAGS } from '../../engine/vm/supervision/supervisor-flags';
import { openVmSession, type VmSession } from '../support/e2e-vm-session';

let session: VmSession;
let page: Page;
let rpc: RpcClient<VirtdeskContract> | undefined;
const ids: string[] = [];

test.describe.configure({ mode: 'serial' });

test.beforeAll(async ({ browser }) => {
  session = await openVmSession(browser);
  page = session.page;
});

test.afterAll(async () => {
  rpc?.close();
  await session?.close();
});

/** argv of every child of `pid`, from /proc. */
async function childrenOf(pid: number): Promise<{ pid: number; argv: string[] }[]> {
  const found: { pid: number; argv: string[] }[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'latin1').catch(() => '');
    if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) !== pid) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'latin1').catch(() => '');
    found.push({ pid: Number(entry), argv: cmdline.replace(/\0$/, '').split('\0') });
  }
  return found;
}

/** A second window's RPC connection, signed in with the page's session cookie. */
async function connect(): Promise<RpcClient<VirtdeskContract>> {
  const cookie = (await session.context.cookies(session.serve.origin))[0]!;
  const socket = new WebSocket(`${session.serve.origin.replace(/^http/, 'ws')}/rpc`, { headers: { Cookie: `${cookie.name}=${cookie.value}` }, origin: session.serve.origin });
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  return createRpcClient(
    virtdeskContract,
    {
      send: (message) => socket.send(JSON.stringify(message)),
      onMessage: (handler) => socket.on('message', (data) => handler(JSON.parse(data.toString()))),
      onClose: (handler) => socket.on('close', handler),
      close: () => socket.close(),
    },
    { defaultTimeoutMs: 60_000 },
  );
}

test('each running VM has a supervisor: the CommonJS build, with the supervisor V8 flags and no others', async () => {
  for (const name of ['stats-a', 'stats-b']) {
    ids.push(await session.createGuestVm(name));
    await session.cli('vm', 'start', name);
  }
  // serve picks up VMs started by the CLI within a second or so.
  await expect.poll(async () => (await childrenOf(session.serve.child.pid!)).filter((child) => child.argv.some((arg) => arg.endsWith('/supervisor.cjs'))).length, { timeout: 30_000 }).toBe(2);
  for (const supervisor of (await childrenOf(session.serve.child.pid!)).filter((child) => child.argv.some((arg) => arg.includes('supervisor')))) {
    // Exactly the supervisor's flags (engine/vm/supervision/supervisor-flags.ts), before the module.
    expect(supervisor.argv.slice(1)).toEqual([...SUPERVISOR_V8_FLAGS, expect.stringMatching(/\/supervisor\.cjs$/)]);
  }
});

test('the samples of both VMs arrive together, one vms.stats event per tick', async () => {
  rpc = await connect();
  const events: VmStats[][] = [];
  rpc.on('vms.stats', (event) => events.push(event.samples));
  // Every 2 s; allow for the first ticks after the boots and a loaded machine.
  await expect.poll(() => events.filter((samples) => samples.length === 2).length, { timeout: 30_000 }).toBeGreaterThanOrEqual(2);
  const together = events.filter((samples) => samples.length === 2);
  for (const samples of together) {
    expect(samples.map((sample) => sample.id).sort()).toEqual([...ids].sort());
    // Taken at the same moment of the wall clock, give or take QEMU's answer.
    expect(Math.abs(samples[0]!.at - samples[1]!.at)).toBeLessThan(500);
  }
  // Consecutive ticks are one interval apart.
  const ticks = together.map((samples) => samples[0]!.at);
  expect(ticks[1]! - ticks[0]!).toBeGreaterThan(1500);
});

test('the list sparklines fill from those events', async () => {
  for (const id of ids) {
    await expect.poll(async () => Number(await page.getByTestId(`vm-mem-${id}`).getAttribute('data-samples')), { timeout: 30_000 }).toBeGreaterThanOrEqual(2);
  }
  expect(session.pageErrors).toEqual([]);
});
