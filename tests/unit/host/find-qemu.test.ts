import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EngineError } from '../../../engine/api/errors';
import { findQemu, findQemuImg } from '../../../engine/host/find-qemu';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

async function tempBin(...names: string[]) {
  const dir = await mkdtemp(join(tmpdir(), 'vd-findqemu-'));
  dirs.push(dir);
  for (const name of names) await writeFile(join(dir, name), '#!/bin/sh\n', { mode: 0o755 });
  return dir;
}

describe('findQemu', () => {
  it('finds qemu-system-x86_64 on PATH, skipping folders without it', async () => {
    const empty = await tempBin();
    const bin = await tempBin('qemu-system-x86_64');
    expect(await findQemu({ PATH: `${empty}:${bin}` })).toBe(join(bin, 'qemu-system-x86_64'));
  });

  it('skips a non-executable file and a folder of that name', async () => {
    const dir = await tempBin();
    await writeFile(join(dir, 'qemu-system-x86_64'), '', { mode: 0o644 });
    const other = await tempBin();
    await mkdir(join(other, 'qemu-system-x86_64'));
    const good = await tempBin('qemu-system-x86_64');
    expect(await findQemu({ PATH: [dir, other, good].join(':') })).toBe(join(good, 'qemu-system-x86_64'));
  });

  it('VIRTDESK_QEMU wins, and must be an executable absolute path', async () => {
    const bin = await tempBin('my-qemu', 'qemu-system-x86_64');
    expect(await findQemu({ PATH: bin, VIRTDESK_QEMU: join(bin, 'my-qemu') })).toBe(join(bin, 'my-qemu'));
    const error = (await findQemu({ PATH: bin, VIRTDESK_QEMU: 'my-qemu' }).catch((e: unknown) => e)) as EngineError;
    expect(error.code).toBe('unavailable');
    expect(error.message).toContain('VIRTDESK_QEMU');
  });

  it('missing QEMU says it is not installed and how to install it on Debian, Fedora and Arch', async () => {
    const error = (await findQemu({ PATH: await tempBin() }).catch((e: unknown) => e)) as EngineError;
    expect(error).toBeInstanceOf(EngineError);
    expect(error.code).toBe('unavailable');
    expect(error.message).toMatch(/^QEMU is not installed/);
    expect(error.hint).toContain('sudo apt install qemu-system-x86 qemu-utils');
    expect(error.hint).toContain('dnf install');
    expect(error.hint).toContain('pacman');
  });
});

describe('findQemuImg', () => {
  it('finds qemu-img on PATH and explains when it is missing', async () => {
    const bin = await tempBin('qemu-img');
    expect(await findQemuImg({ PATH: bin })).toBe(join(bin, 'qemu-img'));
    const error = (await findQemuImg({ PATH: await tempBin() }).catch((e: unknown) => e)) as EngineError;
    expect(error.code).toBe('unavailable');
    expect(error.hint).toContain('qemu-utils');
  });
});
