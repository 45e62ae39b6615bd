import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_SOCKET_PATH_BYTES, prepareRuntimeDir, vmRuntimePaths } from '../../../engine/vm/runtime/paths';

const ID = '0b5a6a34-7f6e-4f5e-9a51-3c2f6d1e9b10';
const made: string[] = [];
afterEach(async () => {
  for (const dir of made.splice(0)) await rm(dir, { recursive: true, force: true });
});

describe('runtime folder', () => {
  it('puts sockets under <runtimeRoot>/<id> and logs in the data folder', () => {
    const paths = vmRuntimePaths('/home/u/.local/share/virtdesk', ID, { XDG_RUNTIME_DIR: '/run/user/1000' });
    expect(paths.runDir).toBe(`/run/user/1000/virtdesk/${ID}`);
    expect(paths.qmpSocket).toBe(`/run/user/1000/virtdesk/${ID}/qmp.sock`);
    expect(paths.qmpCommandSocket).toBe(`/run/user/1000/virtdesk/${ID}/qmp-cmd.sock`);
    expect(paths.vncSocket).toBe(`/run/user/1000/virtdesk/${ID}/vnc.sock`);
    expect(paths.serialSocket).toBe(`/run/user/1000/virtdesk/${ID}/serial.sock`);
    expect(paths.pidFile).toBe(`/run/user/1000/virtdesk/${ID}/qemu.pid`);
    expect(paths.serialLog).toBe(`/home/u/.local/share/virtdesk/vms/${ID}/serial.log`);
    expect(vmRuntimePaths('/data/vd', ID, {}).runDir).toBe(`/data/vd/run/${ID}`);
  });

  it('falls back to a short, stable /tmp folder when socket paths would exceed sun_path', () => {
    const deep = `/home/u/${'very-long-folder-name/'.repeat(5)}virtdesk`;
    const paths = vmRuntimePaths(deep, ID, {});
    expect(paths.runDir).toMatch(new RegExp(`^/tmp/virtdesk-\\d+/[0-9a-f]{12}/${ID}$`));
    for (const socket of [paths.qmpSocket, paths.qmpCommandSocket, paths.vncSocket, paths.serialSocket]) {
      expect(Buffer.byteLength(socket)).toBeLessThanOrEqual(MAX_SOCKET_PATH_BYTES);
    }
    expect(vmRuntimePaths(deep, ID, {}).runDir).toBe(paths.runDir);
    expect(paths.serialLog.startsWith(deep)).toBe(true);
  });

  it('refuses an id that cannot fit even in the fallback', () => {
    expect(() => vmRuntimePaths('/x', 'a'.repeat(100), {})).toThrow(/longer than the 107 bytes/);
  });

  it('creates the runtime folder with mode 0700 and repairs a looser mode', async () => {
    const home = await mkdtemp(join(tmpdir(), 'vd-rt-'));
    made.push(home);
    const paths = vmRuntimePaths(home, ID, {});
    await prepareRuntimeDir(paths);
    expect((await stat(paths.runDir)).mode & 0o777).toBe(0o700);
    expect((await stat(join(paths.runDir, '..'))).mode & 0o777).toBe(0o700);
    expect((await stat(join(paths.serialLog, '..'))).isDirectory()).toBe(true);
  });
});
