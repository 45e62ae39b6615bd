import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EngineError } from '../../../engine/api/errors';
import { runPrivileged } from '../../../engine/network/privileged/run-privileged';

// The pkexec path, exercised with stand-ins: a fake pkexec that runs its arguments (as pkexec
// would after authorising, setting PKEXEC_UID), and the real helper entry run through tsx.
describe('runPrivileged through pkexec', () => {
  let dir: string;
  let fakePkexec: string;
  let helper: string;
  const repo = resolve(__dirname, '../../..');

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vd-pkexec-'));
    fakePkexec = join(dir, 'pkexec');
    await writeFile(fakePkexec, '#!/bin/sh\nif [ -n "$FAKE_PKEXEC_EXIT" ]; then echo "Not authorized" >&2; exit "$FAKE_PKEXEC_EXIT"; fi\nexport PKEXEC_UID=4242\nexec "$@"\n');
    helper = join(dir, 'virtdesk-net-helper');
    await writeFile(helper, `#!/bin/sh\nexec ${join(repo, 'node_modules/.bin/tsx')} ${join(repo, 'engine/network/privileged/helper-main.ts')} "$@"\n`);
    await chmod(fakePkexec, 0o755);
    await chmod(helper, 0o755);
  });
  afterAll(async () => {
    delete process.env.FAKE_PKEXEC_EXIT;
    await rm(dir, { recursive: true, force: true });
  });

  const options = () => ({ stateRoot: '/nonexistent', euid: 1000, pkexecPath: fakePkexec, helperPath: helper });

  it('explains a missing pkexec', async () => {
    const error = await runPrivileged({ op: 'tap.remove', tap: 'vdtapnone' }, { ...options(), pkexecPath: join(dir, 'none') }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EngineError);
    expect((error as EngineError).code).toBe('permission-denied');
    expect((error as EngineError).message).toContain('pkexec (polkit) is not installed');
  });

  it('explains a missing helper', async () => {
    await expect(runPrivileged({ op: 'tap.remove', tap: 'vdtapnone' }, { ...options(), helperPath: join(dir, 'none') })).rejects.toThrow(/network helper, which is not installed/);
  });

  it('validates before asking anyone', async () => {
    await expect(runPrivileged({ op: 'tap.remove', tap: 'bad name' } as never, { ...options(), pkexecPath: join(dir, 'none') })).rejects.toThrow(/interface name "bad name"/);
  });

  it('maps a refused authorisation to permission-denied', async () => {
    process.env.FAKE_PKEXEC_EXIT = '127';
    try {
      const error = await runPrivileged({ op: 'tap.remove', tap: 'vdtapnone' }, options()).catch((e: unknown) => e);
      expect((error as EngineError).code).toBe('permission-denied');
      expect((error as EngineError).message).toBe('The network operation tap.remove was not authorized');
      expect((error as EngineError).hint).toContain('Not authorized');
    } finally {
      delete process.env.FAKE_PKEXEC_EXIT;
    }
  });

  it.skipIf(process.geteuid?.() !== 0)('round-trips a result and an error through the helper (root)', async () => {
    // Removing a tap that does not exist changes nothing on the host.
    expect(await runPrivileged({ op: 'tap.remove', tap: 'vdtapnone0000' }, options())).toEqual({ removed: false });
    // The helper refuses taps for anyone but the pkexec caller (the fake sets PKEXEC_UID=4242).
    const error = await runPrivileged({ op: 'tap.add', tap: 'vdtapnone0000', bridge: 'vdbrnone', uid: 0 }, options()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EngineError);
    expect((error as EngineError).message).toContain('only be created for the calling user (uid 4242)');
  });
});
