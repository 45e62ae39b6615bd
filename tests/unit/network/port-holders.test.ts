import { createServer, type Server } from 'node:net';
import { createSocket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { EngineError } from '../../../engine/api/errors';
import { addressesCollide, assertHostPortFree, decodeProcAddress, parseProcNetTable } from '../../../engine/network/port-holders';

const TCP_TABLE = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:07E8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1061 1 00000000d4137ce8 100 0 0 10 0
   1: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 24949 1 00000000bebc0571 100 0 0 10 0
   2: 0100007F:1F90 0100007F:C350 01 00000000:00000000 00:00000000 00000000  1000        0 24950 1 00000000bebc0571 100 0 0 10 0
`;
const TCP6_TABLE = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:0016 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 777 1 0 100 0 0 10 0
   1: 00000000000000000000000001000000:0050 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 778 1 0 100 0 0 10 0
   2: 0000000000000000FFFF00000100007F:0051 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 779 1 0 100 0 0 10 0
`;

describe('/proc/net parsing', () => {
  it('decodes addresses', () => {
    expect(decodeProcAddress('0100007F')).toBe('127.0.0.1');
    expect(decodeProcAddress('00000000000000000000000001000000')).toBe('::1');
    expect(decodeProcAddress('0000000000000000FFFF00000100007F')).toBe('::ffff:127.0.0.1');
  });

  it('keeps listening sockets only', () => {
    const sockets = parseProcNetTable(TCP_TABLE, 'tcp');
    expect(sockets).toEqual([
      { protocol: 'tcp', address: '0.0.0.0', port: 2024, uid: 0, inode: 1061 },
      { protocol: 'tcp', address: '127.0.0.1', port: 8080, uid: 1000, inode: 24949 },
    ]);
    expect(parseProcNetTable(TCP6_TABLE, 'tcp').map((s) => `${s.address} ${s.port}`)).toEqual([':: 22', '::1 80', '::ffff:127.0.0.1 81']);
  });

  it('knows which bound addresses collide', () => {
    expect(addressesCollide('0.0.0.0', '127.0.0.1')).toBe(true);
    expect(addressesCollide('::', '127.0.0.1')).toBe(true);
    expect(addressesCollide('127.0.0.1', '0.0.0.0')).toBe(true);
    expect(addressesCollide('::ffff:127.0.0.1', '127.0.0.1')).toBe(true);
    expect(addressesCollide('127.0.0.2', '127.0.0.1')).toBe(false);
    expect(addressesCollide('::1', '127.0.0.1')).toBe(false);
  });
});

describe('assertHostPortFree on the live host', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const cleanup of cleanups.splice(0)) cleanup();
  });

  it('names the process that holds a TCP port (this test process)', async () => {
    const server: Server = createServer();
    await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
    cleanups.push(() => server.close());
    const port = (server.address() as { port: number }).port;
    const error = await assertHostPortFree('tcp', '127.0.0.1', port).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EngineError);
    expect((error as EngineError).code).toBe('conflict');
    expect((error as EngineError).message).toContain(`TCP port ${port} on 127.0.0.1 is already in use by`);
    expect((error as EngineError).message).toContain(`(pid ${process.pid})`);
    // A wildcard bind collides with it too.
    await expect(assertHostPortFree('tcp', '0.0.0.0', port)).rejects.toThrow(/already in use/);
  });

  it('names the process that holds a UDP port', async () => {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind({ address: '127.0.0.1', port: 0 }, resolve));
    cleanups.push(() => socket.close());
    const port = socket.address().port;
    await expect(assertHostPortFree('udp', '127.0.0.1', port)).rejects.toThrow(new RegExp(`UDP port ${port} on 127.0.0.1 is already in use by .*pid ${process.pid}`));
    await expect(assertHostPortFree('tcp', '127.0.0.1', port)).resolves.toBeUndefined();
  });

  it('passes a free port', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
    const port = (server.address() as { port: number }).port;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await expect(assertHostPortFree('tcp', '127.0.0.1', port)).resolves.toBeUndefined();
  });
});
