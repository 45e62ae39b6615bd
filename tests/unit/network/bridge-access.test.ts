import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EngineError } from '../../../engine/api/errors';
import { evaluateBridgeAcl } from '../../../engine/network/bridge-acl';
import { checkBridgeAccess } from '../../../engine/network/bridge-access';
import type { CommandRunner } from '../../../engine/network/command-runner';

function files(map: Record<string, string>) {
  return async (path: string) => {
    const text = map[path];
    if (text === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
    return text;
  };
}

describe('qemu-bridge-helper ACL', () => {
  it('allows a named bridge and "allow all", ignoring comments', async () => {
    const read = files({ '/c': '# comment\n\n  allow br0\n' });
    expect(await evaluateBridgeAcl('br0', '/c', read)).toMatchObject({ allowed: true, reason: 'allow br0 (in /c)' });
    expect((await evaluateBridgeAcl('br1', '/c', read)).allowed).toBe(false);
    expect((await evaluateBridgeAcl('br1', '/c', files({ '/c': 'allow\tall\n' }))).allowed).toBe(true);
  });

  it('lets deny win over allow, wherever it appears', async () => {
    const verdict = await evaluateBridgeAcl('br0', '/c', files({ '/c': 'allow br0\ndeny all\n' }));
    expect(verdict).toMatchObject({ allowed: false, reason: 'deny all (in /c)' });
    expect((await evaluateBridgeAcl('br0', '/c', files({ '/c': 'deny br0\nallow all\n' }))).reason).toBe('deny br0 (in /c)');
  });

  it('follows includes and ignores unreadable ones', async () => {
    const read = files({ '/c': 'include /u.conf\ninclude /missing.conf\n', '/u.conf': 'allow br7\n' });
    const verdict = await evaluateBridgeAcl('br7', '/c', read);
    expect(verdict).toMatchObject({ allowed: true, reason: 'allow br7 (in /u.conf)', files: ['/c', '/u.conf'] });
  });

  it('reports a missing default file and invalid lines as errors', async () => {
    expect((await evaluateBridgeAcl('br0', '/c', files({}))).errors).toEqual(['/c cannot be read: ENOENT']);
    expect((await evaluateBridgeAcl('br0', '/c', files({ '/c': 'allowbr0\n' }))).errors).toEqual(['/c: invalid line "allowbr0"']);
    expect((await evaluateBridgeAcl('br0', '/c', files({ '/c': 'permit br0\n' }))).errors).toEqual(['/c: unknown command "permit"']);
  });
});

function runnerWith(links: Record<string, string | undefined>): CommandRunner {
  return {
    wrap: (command, args) => ({ command, args: [...args] }),
    run: async (_command, args) => {
      const name = args[args.length - 1] ?? '';
      const kind = links[name];
      if (kind === undefined) return { code: 1, stdout: '', stderr: `Device "${name}" does not exist.` };
      return { code: 0, stdout: JSON.stringify([{ ifname: name, linkinfo: kind ? { info_kind: kind } : undefined }]), stderr: '' };
    },
  };
}

describe('checkBridgeAccess', () => {
  let dir: string;
  let helper: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vd-bridge-'));
    helper = join(dir, 'qemu-bridge-helper');
    await writeFile(helper, '');
    await chmod(helper, 0o755);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const runner = runnerWith({ br0: 'bridge', eth0: '' });
  const fail = async (promise: Promise<unknown>) => {
    const error = await promise.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EngineError);
    return error as EngineError;
  };

  it('refuses a missing bridge and a non-bridge', async () => {
    expect((await fail(checkBridgeAccess('br9', { runner, helperPath: helper, euid: 0, readText: files({}) }))).code).toBe('not-found');
    expect((await fail(checkBridgeAccess('eth0', { runner, helperPath: helper, euid: 0, readText: files({}) }))).message).toMatch(/eth0 is not a bridge/);
    expect((await fail(checkBridgeAccess('br 0', { runner, helperPath: helper, euid: 0 }))).code).toBe('invalid-argument');
  });

  it('says how to make the helper set-uid for an unprivileged user', async () => {
    const error = await fail(checkBridgeAccess('br0', { runner, helperPath: helper, euid: 1000, readText: files({ '/etc/qemu/bridge.conf': 'allow br0\n' }) }));
    expect(error.code).toBe('permission-denied');
    expect(error.message).toContain('is not set-uid root');
    expect(error.hint).toBe(`Make it set-uid (kept across upgrades): sudo dpkg-statoverride --update --add root root 4755 ${helper}`);
  });

  it('refuses a missing helper', async () => {
    expect((await fail(checkBridgeAccess('br0', { runner, helperPath: join(dir, 'none'), euid: 0 }))).hint).toMatch(/apt-get install qemu-system-common/);
  });

  it('gives the exact line to add when bridge.conf is missing or does not allow the bridge', async () => {
    const missing = await fail(checkBridgeAccess('br0', { runner, helperPath: helper, euid: 0, confPath: '/etc/qemu/bridge.conf', readText: files({}) }));
    expect(missing.hint).toContain('allow br0');
    expect(missing.hint).toContain("echo 'allow br0' | sudo tee -a /etc/qemu/bridge.conf");
    const other = await fail(checkBridgeAccess('br0', { runner, helperPath: helper, euid: 0, confPath: '/c', readText: files({ '/c': 'allow virbr0\n' }) }));
    expect(other.message).toBe('/c does not allow bridge br0');
    expect(other.hint).toMatch(/^Add this line to \/c: allow br0/);
    const denied = await fail(checkBridgeAccess('br0', { runner, helperPath: helper, euid: 0, confPath: '/c', readText: files({ '/c': 'allow br0\ndeny all\n' }) }));
    expect(denied.message).toContain('(deny all (in /c))');
    expect(denied.hint).toMatch(/Remove the "deny all" line/);
  });

  it('passes when everything is in place', async () => {
    expect(await checkBridgeAccess('br0', { runner, helperPath: helper, euid: 0, confPath: '/c', readText: files({ '/c': 'allow br0\n' }) })).toEqual({ helper });
  });
});
