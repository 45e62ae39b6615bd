// The serial console shared by many viewers through the VM supervisor's multiplexer, against the
// test guest under TCG: two viewers at once (one through serve's WebSocket pipe), the CLI console
// beside a UI viewer, a killed supervisor's replacement bringing the mux back, and the fallback to
// QEMU's own socket when no supervisor runs.
import { lstat } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import type { ConsoleGateway, ConsoleTarget } from '../../engine/console-gateway';
import { createVmCommands } from '../../engine/cli/vm-commands';
import { VmManager } from '../../engine/vm/manager';
import { waitForExit } from '../../engine/vm/runtime/pidfile';
import { createVmService } from '../../engine/vm/vm-service';
import { forkWorkerFactory } from '../../engine/vm/supervision/worker';
import { pipeWebSocketToUnixSocket } from '../../main/serve/console-stream';
import { ensureTestGuest, READY_LINE, SHELL_PROMPT, type TestGuest } from '../guest/guest';
import { assertNoLeftoverSockets, createTempHome, killProcessesUnder, type TempHome } from '../support/leaks';
import { cliRunner, fileSize, guestVmInput, waitFor, waitForSerial } from '../support/vm-helpers';

const SUPERVISOR = fileURLToPath(new URL('../../engine/vm/supervision/supervisor-main.ts', import.meta.url));

let guest: TestGuest;
let home: TempHome;
let manager: VmManager | undefined;
let vmId: string;
const opened: ConsoleTarget[] = [];
const viewers: { close(): void }[] = [];
const supervisorLog: string[] = [];

/** A console gateway that hands the target back to the test, which connects like a UI host would. */
const gateway: ConsoleGateway = {
  open(target) {
    opened.push(target);
    return { ticket: `t${opened.length}`, expiresInMs: 30_000 };
  },
};

async function openManager(): Promise<VmManager> {
  manager = await VmManager.open({
    home: home.home,
    env: home.env,
    workers: forkWorkerFactory({ execArgv: ['--import', 'tsx'] }),
    supervisorEntry: SUPERVISOR,
    statsIntervalMs: 0,
    pollIntervalMs: 300,
    restartPolicy: { initialDelayMs: 100 },
    log: (line) => supervisorLog.push(line),
  });
  return manager;
}

/** What `vms.openConsole({ kind: 'serial' })` hands a host to connect to. */
async function uiConsolePath(): Promise<string> {
  const service = createVmService({ manager: manager!, consoles: gateway });
  const ticket = await service.openConsole({ id: vmId, kind: 'serial' }, { peer: { connectionId: 'test' }, signal: new AbortController().signal });
  expect(ticket).toMatchObject({ ticket: `t${opened.length}`, password: null });
  return opened.at(-1)!.socketPath;
}

interface Viewer {
  write(text: string): void;
  text(): string;
  closed: Promise<void>;
  close(): void;
}

function unixViewer(path: string): Promise<Viewer> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connect(path);
    const chunks: Buffer[] = [];
    const closed = new Promise<void>((done) => socket.on('close', () => done()));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.on('error', () => undefined);
      const viewer = { write: (text: string) => void socket.write(text), text: () => Buffer.concat(chunks).toString('utf8'), closed, close: () => void socket.destroy() };
      viewers.push(viewer);
      resolve(viewer);
    });
  });
}

/** A viewer the way `virtdesk serve` serves one: a WebSocket piped to the console socket. */
async function webSocketViewer(path: string): Promise<Viewer> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((resolve) => server.once('listening', resolve));
  server.on('connection', (ws) => pipeWebSocketToUnixSocket(ws, path, () => undefined));
  const { port } = server.address() as { port: number };
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
  ws.binaryType = 'nodebuffer';
  const chunks: Buffer[] = [];
  const closed = new Promise<void>((done) => ws.on('close', () => done()));
  ws.on('message', (data: Buffer) => chunks.push(data));
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const viewer = {
    write: (text: string) => ws.send(Buffer.from(text)),
    text: () => Buffer.concat(chunks).toString('utf8'),
    closed,
    close: () => {
      ws.terminate();
      for (const client of server.clients) client.terminate();
      server.close();
    },
  };
  viewers.push(viewer);
  return viewer;
}

/** Both output lines of `echo <tag>-$((6*7))`: the echo of the command never contains `<tag>-42`. */
const answer = (tag: string) => new RegExp(`\\n${tag}-42\\r?\\n`);

beforeAll(async () => {
  guest = await ensureTestGuest();
  home = await createTempHome('vd-serial-mux-');
  await openManager();
  const def = await manager!.create(await guestVmInput(guest, home.home, 'muxed'));
  vmId = def.id;
  const serialLog = (await manager!.get('muxed')).runtime.serialLog;
  const offset = await fileSize(serialLog);
  await manager!.start('muxed');
  await waitForSerial(serialLog, READY_LINE, 120_000, offset);
});

afterAll(async () => {
  for (const viewer of viewers.splice(0)) viewer.close();
  await manager?.close();
  await killProcessesUnder(home.home);
  await home?.cleanup();
});

describe('a serial console shared through the supervisor', () => {
  it('lets two viewers attach at once; both see the output of a command typed by one', async () => {
    const muxPath = await uiConsolePath();
    expect(muxPath).toMatch(/\/serial-mux\.sock$/);
    const a = await unixViewer(muxPath);
    const b = await webSocketViewer(await uiConsolePath());
    // Late joiners get recent output first: the boot already printed the ready line.
    await waitFor('the replayed history on both', () => READY_LINE.test(a.text()) && READY_LINE.test(b.text()), 10_000);
    a.write('\n');
    await waitFor('the prompt on both', () => a.text().includes(SHELL_PROMPT) && b.text().includes(SHELL_PROMPT), 20_000);
    a.write('echo a-$((6*7))\n');
    await waitFor('a-42 on both viewers', () => answer('a').test(a.text()) && answer('a').test(b.text()), 20_000);
    b.write('echo b-$((6*7))\n');
    await waitFor('b-42 on both viewers', () => answer('b').test(a.text()) && answer('b').test(b.text()), 20_000);
    a.close();
    b.close();
  });

  it('runs the CLI console while a UI viewer is attached, both seeing each other’s commands', async () => {
    const ui = await unixViewer(await uiConsolePath());
    const input = new PassThrough();
    const out: Buffer[] = [];
    const cli = cliRunner(createVmCommands(() => ({ stdin: input, writeOut: (bytes) => void out.push(bytes) })), home.env);
    const attached = cli('vm', 'console', 'muxed');
    input.write('echo cli-$((6*7))\n');
    await waitFor('cli-42 in the CLI', () => answer('cli').test(Buffer.concat(out).toString('utf8')), 20_000);
    await waitFor('cli-42 in the UI viewer', () => answer('cli').test(ui.text()), 5000);
    ui.write('echo ui-$((6*7))\n');
    await waitFor('ui-42 in the CLI', () => answer('ui').test(Buffer.concat(out).toString('utf8')), 20_000);
    input.write(Buffer.from([0x1d]));
    const result = await attached;
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('through its supervisor (shared');
    expect(result.stderr).toContain('Press Ctrl-] to detach.');
    expect(result.stderr).toContain('Detached.');
    // The UI viewer stays attached after the CLI left.
    ui.write('echo after-$((6*7))\n');
    await waitFor('after-42 in the UI viewer', () => answer('after').test(ui.text()), 20_000);
    ui.close();
  });

  it('comes back with a killed supervisor’s replacement (the stale socket is replaced)', async () => {
    const viewer = await unixViewer(await uiConsolePath());
    const first = manager!.supervisorPid(vmId)!;
    process.kill(first, 'SIGKILL');
    // The viewer loses the console with its supervisor; QEMU keeps running.
    await viewer.closed;
    await waitFor('a new supervisor attached', () => {
      const pid = manager!.supervisorPid(vmId);
      return pid !== undefined && pid !== first && manager!.isWatched(vmId);
    }, 30_000);
    const path = await uiConsolePath();
    expect(path).toMatch(/\/serial-mux\.sock$/);
    const again = await unixViewer(path);
    again.write('echo again-$((6*7))\n');
    await waitFor('again-42 through the new mux', () => answer('again').test(again.text()), 20_000);
    const second = await unixViewer(path);
    await waitFor('the replay for another viewer', () => answer('again').test(second.text()), 5000);
    again.close();
    second.close();
  });

  it('falls back to QEMU’s socket when no supervisor runs, and says so', async () => {
    const paths = manager!.registry.paths((await manager!.get('muxed')).definition);
    await manager!.close();
    manager = undefined;
    // A detaching supervisor takes its socket with it.
    expect(await lstat(paths.serialMuxSocket).catch(() => undefined)).toBeUndefined();
    const input = new PassThrough();
    const out: Buffer[] = [];
    const cli = cliRunner(createVmCommands(() => ({ stdin: input, writeOut: (bytes) => void out.push(bytes) })), home.env);
    const attached = cli('vm', 'console', 'muxed');
    input.write('echo direct-$((6*7))\n');
    await waitFor('direct-42 in the CLI', () => answer('direct').test(Buffer.concat(out).toString('utf8')), 20_000);
    input.write(Buffer.from([0x1d]));
    const result = await attached;
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('directly (no Virtdesk app or serve is watching this VM');
  });

  it('closes the viewers when QEMU goes away and leaves no socket behind', async () => {
    await openManager();
    await waitFor('a supervisor attached', () => manager!.isWatched(vmId), 30_000);
    const viewer = await unixViewer(await uiConsolePath());
    const qemuPid = (await manager!.get('muxed')).runtime.pid!;
    await manager!.stop('muxed', { force: true });
    await viewer.closed;
    expect(await waitForExit(qemuPid, 5000)).toBe(true);
    await waitFor('the supervisor gone', () => manager!.supervisorPid(vmId) === undefined, 10_000);
    await assertNoLeftoverSockets(home.home);
    expect(supervisorLog.filter((line) => /serial console/.test(line))).toEqual([]);
  });
});
