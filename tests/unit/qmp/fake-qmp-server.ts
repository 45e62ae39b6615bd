import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QmpClient } from '../../../engine/qemu/qmp/client';

export type Json = Record<string, unknown>;

/** One client connection as the fake server sees it. */
export class FakePeer {
  readonly received: Json[] = [];
  constructor(readonly socket: Socket) {}
  raw(text: string): void {
    this.socket.write(text);
  }
  send(message: Json): void {
    this.raw(`${JSON.stringify(message)}\n`);
  }
  reply(id: unknown, value: unknown = {}): void {
    this.send({ return: value, id });
  }
  error(id: unknown, errorClass: string, desc: string): void {
    this.send({ error: { class: errorClass, desc }, id });
  }
  event(event: string, data?: Json): void {
    this.send({ event, ...(data ? { data } : {}), timestamp: { seconds: 1700000000, microseconds: 250000 } });
  }
  end(): void {
    this.socket.end();
  }
  destroy(): void {
    this.socket.destroy();
  }
}

export interface FakeQmpOptions {
  /** The greeting line; null sends none. */
  greeting?: Json | string | null;
  /** Called for every command after qmp_capabilities (answered automatically unless `manualCapabilities`). */
  onCommand?: (command: Json, peer: FakePeer) => void;
  manualCapabilities?: boolean;
}

export const DEFAULT_GREETING = {
  QMP: { version: { qemu: { micro: 22, minor: 2, major: 7 }, package: 'Debian 1:7.2+dfsg-7+deb12u18+b3' }, capabilities: ['oob'] },
};

/** A scripted QMP server on a temp unix socket. */
export class FakeQmpServer {
  readonly peers: FakePeer[] = [];
  private constructor(
    private readonly server: Server,
    private readonly dir: string,
    readonly path: string,
  ) {}

  static async start(options: FakeQmpOptions = {}, path?: string): Promise<FakeQmpServer> {
    const dir = await mkdtemp(join(tmpdir(), 'vd-fakeqmp-'));
    const socketPath = path ?? join(dir, 'qmp.sock');
    const server = createServer();
    const fake = new FakeQmpServer(server, dir, socketPath);
    server.on('connection', (socket) => {
      const peer = new FakePeer(socket);
      fake.peers.push(peer);
      socket.on('error', () => {});
      const greeting = options.greeting === undefined ? DEFAULT_GREETING : options.greeting;
      if (typeof greeting === 'string') peer.raw(greeting);
      else if (greeting !== null) peer.send(greeting);
      let buffer = '';
      socket.on('data', (chunk) => {
        buffer += chunk.toString('utf8');
        let newline: number;
        while ((newline = buffer.indexOf('\n')) !== -1) {
          const line = buffer.slice(0, newline);
          buffer = buffer.slice(newline + 1);
          if (!line.trim()) continue;
          const command = JSON.parse(line) as Json;
          peer.received.push(command);
          if (command['execute'] === 'qmp_capabilities' && !options.manualCapabilities) peer.reply(command['id']);
          else options.onCommand?.(command, peer);
        }
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, () => resolve());
    });
    return fake;
  }

  get peer(): FakePeer {
    const peer = this.peers.at(-1);
    if (!peer) throw new Error('no client connected');
    return peer;
  }

  async stop(): Promise<void> {
    for (const peer of this.peers) peer.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** A logger that records what it was told. */
export function recordingLog() {
  const lines: { level: 'debug' | 'warn'; message: string }[] = [];
  return {
    lines,
    debug: (message: string) => lines.push({ level: 'debug', message }),
    warn: (message: string) => lines.push({ level: 'warn', message }),
  };
}

/** A real QmpClient connected to a fake QEMU that answers with `onCommand`; `stop` ends both. */
export async function fakeQemuClient(onCommand: NonNullable<FakeQmpOptions['onCommand']>): Promise<{ client: QmpClient; server: FakeQmpServer; stop: () => Promise<void> }> {
  const server = await FakeQmpServer.start({ onCommand });
  const client = await QmpClient.connect(server.path, { timeoutMs: 2000 });
  return {
    client,
    server,
    stop: async () => {
      await client.close();
      await server.stop();
    },
  };
}
