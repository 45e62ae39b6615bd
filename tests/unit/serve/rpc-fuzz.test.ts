import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildFrame, openRawWebSocket } from './raw-websocket';
import { rpcSocket, type RpcSocket } from './rpc-client-socket';
import { startTestServe, type TestServe } from './serve-harness';

/**
 * A bounded, deterministic fuzz of serve's /rpc: thousands of hostile messages on open
 * connections and hundreds of random frames on raw ones. Same seed, same cases, every run;
 * a failure names the seed and case so it can be replayed.
 */
const SEED = 0x5eed_2026;
const MESSAGE_CASES = 3000;
const FRAME_CASES = 300;

/** mulberry32: small, fast, and the same sequence on every machine. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Methods the fuzz may call: they read, or fail on the missing VM; none creates bridges or downloads. */
const METHODS = ['vms.list', 'vms.get', 'vms.update', 'vms.stats', 'vms.start', 'vms.delete', 'vms.openConsole', 'preferences.get', 'storage.listPools', 'host.info'];
const HOSTILE_NAMES = ['', 'vms', 'vms.', '.list', 'x.y', '__proto__.toString', 'vms.__proto__', 'vms.constructor', 'constructor.name', 'toString', 'vms.list.x', 'ü.ü', 'a'.repeat(200)];
const STRINGS = ['', 'x', 'vm-1', '\u0000', '\ud800', '../../etc/passwd', '/', '𝕏'.repeat(50), '"\\', '__proto__', 'constructor', 'a'.repeat(5000)];

class Cases {
  readonly next: () => number;
  /** Ids of real VMs, so that edits reach the merge and the store instead of failing on a missing VM. */
  constructor(seed: number, private readonly vmIds: string[] = []) {
    this.next = random(seed);
  }
  int(max: number): number {
    return Math.floor(this.next() * max);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  value(depth: number): unknown {
    const kind = this.int(depth > 4 ? 7 : 9);
    switch (kind) {
      case 0:
        return null;
      case 1:
        return this.next() < 0.5;
      case 2:
        return this.pick([0, -1, 1.5, 2 ** 53, -(2 ** 63), Number.MAX_VALUE, 1e-300, this.int(1000)]);
      case 3:
      case 4:
      case 5:
        return this.pick(STRINGS);
      case 6:
        return this.deep(this.pick([10, 63, 64, 65, 200, 3000]));
      case 7:
        return Array.from({ length: this.int(5) }, () => this.value(depth + 1));
      default: {
        const object: Record<string, unknown> = {};
        for (let i = this.int(5); i > 0; i--) object[this.pick([...STRINGS, 'id', 'patch', 'name', 'cpu', 'memoryMiB'])] = this.value(depth + 1);
        return object;
      }
    }
  }
  deep(levels: number): unknown {
    let value: unknown = 1;
    for (let i = 0; i < levels; i++) value = this.next() < 0.5 ? [value] : { a: value };
    return value;
  }
  /** A message for the case with call id `id`, as the text of one frame. */
  message(id: number): { text: string; expectsReply: boolean } {
    const roll = this.int(20);
    if (roll === 0) return { text: JSON.stringify(this.value(0)), expectsReply: false };
    if (roll === 1) return { text: JSON.stringify({ t: this.pick(['cancel', 'subscribe', 'unsubscribe']), id, topic: this.pick([...STRINGS, 'vms.changed', 'vms.stats']) }), expectsReply: false };
    if (roll === 2) return { text: JSON.stringify({ t: 'call', id: this.pick([-1, 1.5, '1', null, 2 ** 64]), method: 'vms.list', params: {} }), expectsReply: false };
    const method = this.next() < 0.8 ? this.pick(METHODS) : this.pick(HOSTILE_NAMES);
    const params = this.next() < 0.4 ? { id: this.pick([...STRINGS, ...this.vmIds, ...this.vmIds]), patch: this.value(0) } : this.value(0);
    return { text: JSON.stringify({ t: 'call', id, method, params }), expectsReply: true };
  }
  frame(): Buffer {
    const roll = this.int(4);
    const payload = Buffer.from(Array.from({ length: this.int(300) }, () => this.int(256)));
    if (roll === 0) return payload; // bytes that are not a frame at all
    return buildFrame({
      fin: this.next() < 0.8,
      rsv: this.next() < 0.2 ? this.int(8) : 0,
      opcode: this.pick([0, 1, 1, 1, 2, 3, 8, 9, 10, 0xb, 0xf]),
      payload,
      masked: this.next() < 0.9,
      ...(this.next() < 0.1 ? { claimedLength: BigInt(this.int(2 ** 31)) } : {}),
    });
  }
}

let serve: TestServe;
let vmId: string;
beforeAll(async () => {
  serve = await startTestServe();
  vmId = (await serve.engine.vms.create({ name: 'fuzzed', accelerator: 'tcg', nics: [] })).id;
});
afterAll(async () => {
  await serve?.close();
});

describe(`fuzzing /rpc (seed ${SEED})`, () => {
  it(`answers every call of ${MESSAGE_CASES} hostile messages, and keeps serving`, async () => {
    const cases = new Cases(SEED, [vmId]);
    let rpc: RpcSocket = rpcSocket(await serve.openSocket());
    const open: { rpc: RpcSocket; id: number; text: string }[] = [];
    for (let id = 1; id <= MESSAGE_CASES; id++) {
      const { text, expectsReply } = cases.message(id);
      if (rpc.closed) rpc = rpcSocket(await serve.openSocket());
      rpc.sendText(text);
      if (expectsReply) open.push({ rpc, id, text });
      // A sentinel every 100 cases: the connection (or its replacement) still answers.
      if (id % 100 === 0) {
        if (rpc.closed) rpc = rpcSocket(await serve.openSocket());
        const sentinel = MESSAGE_CASES + id;
        rpc.call(sentinel, 'vms.list', {});
        await expect(rpc.reply(sentinel), `case ${id} of seed ${SEED}`).resolves.toMatchObject({ t: 'result' });
      }
    }
    for (const call of open) {
      const reply = await call.rpc.reply(call.id).catch(() => undefined);
      expect(reply, `case ${call.id} of seed ${SEED}: ${call.text.slice(0, 200)}`).toBeDefined();
      expect(JSON.stringify(reply)).not.toMatch(/call stack|at .*\.ts:\d+/i);
    }
  }, 60_000);

  it(`survives ${FRAME_CASES} connections of random frames`, async () => {
    const cases = new Cases(SEED + 1);
    for (let i = 0; i < FRAME_CASES; i++) {
      const raw = await openRawWebSocket(serve.port, '/rpc', { cookie: serve.cookie, origin: serve.origin });
      for (let n = cases.int(4) + 1; n > 0; n--) raw.socket.write(cases.frame());
      raw.socket.destroy();
    }
    const rpc = rpcSocket(await serve.openSocket());
    rpc.call(1, 'vms.list', {});
    expect(await rpc.reply(1)).toMatchObject({ t: 'result' });
  }, 60_000);
});
