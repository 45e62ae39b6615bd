import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nestingDepth } from '../../../engine/api/json-bounds';
import { VM_DEFINITION_BOUNDS } from '../../../engine/api/vm-api';
import { rpcSocket, type RpcSocket } from './rpc-client-socket';
import { startTestServe, type TestServe } from './serve-harness';

/** vms.update through serve's /rpc, as the page (or a hostile page) sends it. */
let serve: TestServe;
let rpc: RpcSocket;
let vmId: string;
let nextId = 1;

beforeAll(async () => {
  serve = await startTestServe();
  vmId = (await serve.engine.vms.create({ name: 'bounded', accelerator: 'tcg', nics: [] })).id;
  rpc = rpcSocket(await serve.openSocket());
});
afterAll(async () => {
  await serve?.close();
});

async function update(patch: unknown): Promise<{ t: string; error?: { code: string; message: string; hint?: string }; value?: Record<string, unknown> }> {
  const id = nextId++;
  rpc.call(id, 'vms.update', { id: vmId, patch });
  return (await rpc.reply(id)) as never;
}

const vmJsonSize = async () => (await stat(join(serve.dir, 'home', 'vms', vmId, 'vm.json'))).size;

function nested(levels: number): unknown {
  let value: unknown = 'leaf';
  for (let i = 0; i < levels; i++) value = { a: value };
  return value;
}

describe('vms.update keeps unknown fields only within bounds', () => {
  it('a definition Virtdesk writes is far inside them', async () => {
    const definition = (await update({ description: 'ordinary edit', 'x-other-tool': { note: 'kept' } })).value?.definition;
    expect(definition).toMatchObject({ description: 'ordinary edit', 'x-other-tool': { note: 'kept' } });
    expect(nestingDepth(definition)).toBeLessThanOrEqual(VM_DEFINITION_BOUNDS.maxDepth / 2);
    expect(JSON.stringify(definition).length).toBeLessThan(VM_DEFINITION_BOUNDS.maxBytes / 16);
  });

  it('refuses a 500 KB unknown string with a clear error, and writes nothing', async () => {
    const before = await vmJsonSize();
    const reply = await update({ 'x-blob': 'b'.repeat(500_000) });
    expect(reply.error?.code).toBe('invalid-argument');
    expect(reply.error?.message).toMatch(/patch: the patch is 5000\d\d bytes of JSON; at most 131072 \(128 KiB\) are accepted/);
    expect(await vmJsonSize()).toBe(before);
  });

  it('refuses unknown fields nested deeper than the bound, and a 2000-deep patch, by name', async () => {
    const deep = await update({ 'x-deep': nested(VM_DEFINITION_BOUNDS.maxDepth) });
    expect(deep.error?.message).toMatch(/the patch nests objects and arrays more than 16 levels deep/);
    const deeper = await update({ 'x-deep': nested(2000) });
    expect(deeper.error?.message).toMatch(/more than 64 levels deep/);
    expect(JSON.stringify(deeper)).not.toMatch(/call stack/i);
  });

  it('stops unknown fields from piling up over many edits', async () => {
    const chunk = 'c'.repeat(50_000);
    expect((await update({ 'x-one': chunk })).t).toBe('result');
    expect((await update({ 'x-two': chunk })).t).toBe('result');
    const third = await update({ 'x-three': chunk });
    expect(third.error?.code).toBe('invalid-argument');
    expect(third.error?.message).toMatch(/^The definition of VM "bounded" after this edit is \d+ bytes of JSON; at most 131072 \(128 KiB\) are accepted\.$/);
    expect(third.error?.hint).toMatch(/setting them to null/);
    expect(await vmJsonSize()).toBeLessThan(VM_DEFINITION_BOUNDS.maxBytes);
    // The way out the hint names works.
    expect((await update({ 'x-one': null, 'x-three': chunk })).t).toBe('result');
  });
});
