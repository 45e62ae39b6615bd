// The committed protocol tables are exactly what the generator makes of libvirt 9.0.0's .x
// files (fetched into .cache by scripts/libvirt-protocol/fetch.sh, which tests/setup.sh runs).
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateProtocolFiles, LIBVIRT_VERSION, OUTPUT_DIR } from '../../../scripts/libvirt-protocol/generate';
import { remoteProcedures, REMOTE_PROGRAM, KEEPALIVE_PROGRAM } from '../../../engine/libvirt/protocol/protocol';

const xdrDir = path.join(import.meta.dirname, '../../../.cache/libvirt-protocol', LIBVIRT_VERSION);
const haveXdr = existsSync(path.join(xdrDir, 'remote_protocol.x'));

describe('generated libvirt protocol', () => {
  it.skipIf(!haveXdr)(`regenerating from libvirt ${LIBVIRT_VERSION}'s .x files changes nothing (skipped without ${xdrDir}: run scripts/libvirt-protocol/fetch.sh)`, () => {
    for (const [file, content] of generateProtocolFiles(xdrDir)) {
      expect(readFileSync(path.join(OUTPUT_DIR, file), 'utf8'), file).toBe(content);
    }
  });

  it('has the program numbers and procedures libvirt uses on the wire', () => {
    expect(REMOTE_PROGRAM).toBe(0x20008086);
    expect(KEEPALIVE_PROGRAM).toBe(0x6b656570);
    expect(remoteProcedures.CONNECT_OPEN).toEqual({ proc: 1, args: 'remote_connect_open_args', ret: null, msg: null });
    expect(remoteProcedures.CONNECT_GET_ALL_DOMAIN_STATS.ret).toBe('remote_connect_get_all_domain_stats_ret');
    expect(Object.keys(remoteProcedures)).toHaveLength(443);
  });
});
