import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EngineError } from '../../engine/api/errors';
import { runCli } from '../../engine/cli/run-cli';
import { hostCommands } from '../../engine/cli/host-commands';
import { decideAccelerator, probeKvm } from '../../engine/host/accel';
import { withBriefQemu } from '../../engine/host/brief-qemu';
import { loadQemuCapabilities } from '../../engine/host/capabilities';
import { formatHostCheck, runHostChecks } from '../../engine/host/check';
import { chooseCpuModel, KVM_CPU_FALLBACKS, tryCpuModel } from '../../engine/host/cpu-model';
import { findQemu } from '../../engine/host/find-qemu';
import { parseCapabilities, resolveMachine, type RawProbe } from '../../engine/host/probe';

let home: string;
let binary: string;

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'vd-host-it-'));
  binary = await findQemu();
});

afterAll(async () => {
  await rm(home, { recursive: true, force: true });
});

/** Child processes of this test process still alive (a leaked QEMU would show here). */
async function childProcesses(): Promise<string[]> {
  const out: string[] = [];
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[1] === String(process.pid) && fields[0] !== 'Z') out.push(`${pid} ${stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))}`);
  }
  return out;
}

describe('QEMU capability probe (real binary)', () => {
  it('probes through QMP and caches per binary mtime', async () => {
    const started = Date.now();
    const caps = await loadQemuCapabilities({ binary, home, refresh: true });
    const probeMs = Date.now() - started;
    expect(caps.binary).toBe(binary);
    expect(caps.version.major).toBeGreaterThanOrEqual(7);
    expect(resolveMachine(caps, 'q35')?.name).toMatch(/^pc-q35-\d+\.\d+$/);
    expect(resolveMachine(caps, 'pc')?.name).toMatch(/^pc-i440fx-\d+\.\d+$/);
    expect(caps.accelerators).toContain('tcg');
    expect(caps.devices).toContain('virtio-vga');
    expect(caps.cpuModels.map((m) => m.name)).toContain('max');
    expect(caps.qmpCommands).toContain('query-status');

    const again = Date.now();
    expect(await loadQemuCapabilities({ binary, home })).toEqual(caps);
    expect(Date.now() - again).toBeLessThan(Math.max(200, probeMs));
    expect((await readdir(join(home, 'cache'))).some((f) => f.startsWith('qemu-caps-'))).toBe(true);
    expect(await childProcesses()).toEqual([]);
  });

  it('matches the recorded fixture when this is the same QEMU build', async () => {
    const caps = await loadQemuCapabilities({ binary, home });
    const recorded = JSON.parse(readFileSync(new URL('../fixtures/qemu/caps-7.2.json', import.meta.url), 'utf8')) as { raw: RawProbe };
    const fromFixture = parseCapabilities(recorded.raw, binary, caps.mtimeMs);
    if (fromFixture.version.text !== caps.version.text) return; // another build: nothing to compare
    expect(caps.machines).toEqual(fromFixture.machines);
    expect(caps.devices).toEqual(fromFixture.devices);
    expect(caps.accelerators).toEqual(fromFixture.accelerators);
    expect(caps.cpuModels.map((m) => m.name)).toEqual(fromFixture.cpuModels.map((m) => m.name));
  });

  it("a QEMU that refuses its options gives QEMU's own message and leaves no process", async () => {
    const error = (await withBriefQemu(binary, ['-machine', 'no-such-machine', '-nodefaults', '-S', '-display', 'none'], async () => 'unreachable', {
      timeoutMs: 30_000,
    }).catch((e: unknown) => e)) as EngineError;
    expect(error).toBeInstanceOf(EngineError);
    expect(error.code).toBe('qemu-error');
    expect(error.message).toMatch(/^QEMU exited at startup \(exited with code 1\): unsupported machine type/);
    expect(await childProcesses()).toEqual([]);
  });
});

describe('accelerator and CPU model on this host', () => {
  it('decides auto honestly', async () => {
    const kvm = await probeKvm();
    const decision = await decideAccelerator('auto');
    expect(decision.accel).toBe(kvm.usable ? 'kvm' : 'tcg');
    if (kvm.module === 'kvm_pvm') {
      expect(decision.accel).toBe('tcg');
      expect(decision.reason).toContain('kvm_pvm');
      await expect(decideAccelerator('kvm')).rejects.toThrow(/KVM cannot be used on this host/);
    }
  });

  it('under TCG the chain starts at max, and max starts', async () => {
    const choice = await chooseCpuModel({ binary, accel: 'tcg', home: null });
    expect(choice.model).toBe('max');
    expect(choice.attempts).toEqual([{ model: 'max', ok: true }]);
  });

  it('under KVM the fallback ends at a model that really starts, reporting host if it failed', async (context) => {
    const kvm = await probeKvm();
    if (kvm.device !== 'ok') context.skip();
    const choice = await chooseCpuModel({ binary, accel: 'kvm', home, refresh: true });
    expect(KVM_CPU_FALLBACKS).toContain(choice.model);
    expect(choice.attempts.at(-1)).toEqual({ model: choice.model, ok: true });
    if (choice.model !== 'host') {
      expect(choice.attempts[0]).toMatchObject({ model: 'host', ok: false });
      expect(choice.attempts[0]!.error).toMatch(/QEMU exited at startup/);
      expect(choice.reason).toContain('host failed');
    }
    if (kvm.module === 'kvm_pvm') {
      // ENVIRONMENT.md: `-cpu host` aborts on MSR 0x10a here, `host,-arch-capabilities` works.
      expect(choice.attempts[0]!.error).toContain('MSR 0x10a');
      expect(choice.model).toBe('host,-arch-capabilities');
    }
    // The chosen model starts again on its own.
    await tryCpuModel(binary, 'kvm', choice.model);
    expect(await childProcesses()).toEqual([]);
  });

  it('an unknown CPU model fails with QEMU words', async () => {
    await expect(tryCpuModel(binary, 'tcg', 'NoSuchCpu')).rejects.toThrow(/unable to find CPU model 'NoSuchCpu'/);
  });
});

describe('virtdesk host check / caps', () => {
  function io() {
    const out = { stdout: '', stderr: '' };
    return {
      out,
      io: { stdout: (t: string) => void (out.stdout += t), stderr: (t: string) => void (out.stderr += t), env: { ...process.env, VIRTDESK_HOME: home } },
    };
  }

  it('runHostChecks on this machine has no FAIL and reads like virt-host-validate', async () => {
    const results = await runHostChecks({ home });
    expect(results.filter((r) => r.status === 'FAIL')).toEqual([]);
    const text = formatHostCheck(results);
    expect(text).toMatch(/^QEMU: Checking for the QEMU binary \(qemu-system-x86_64\) +: PASS/m);
    expect(text).toMatch(/^QEMU: Checking which CPU model starts under (KVM|TCG) +: PASS/m);
    const kvm = await probeKvm();
    if (kvm.module === 'kvm_pvm') {
      expect(text).toMatch(/^QEMU: Checking for hardware virtualization +: WARN \(.*guests run under TCG, much slower\)$/m);
    }
  });

  it('`host check` prints the report and exits 0; --json gives the results', async () => {
    const a = io();
    expect(await runCli(['host', 'check'], hostCommands, a.io)).toBe(0);
    expect(a.out.stdout).toContain('QEMU: Checking if device /dev/kvm exists');
    const b = io();
    expect(await runCli(['host', 'check', '--json'], hostCommands, b.io)).toBe(0);
    const results = JSON.parse(b.out.stdout) as { id: string; status: string }[];
    expect(results.map((r) => r.id)).toContain('cpu-model');
  });

  it('`host caps --json` gives the whole host picture; bad options are usage errors', async () => {
    const a = io();
    expect(await runCli(['host', 'caps', '--json'], hostCommands, a.io)).toBe(0);
    const caps = JSON.parse(a.out.stdout) as { qemu: { binary: string }; accel: { accel: string }; cpuModel: { model: string } };
    expect(caps.qemu.binary).toBe(binary);
    expect(['kvm', 'tcg']).toContain(caps.accel.accel);
    const b = io();
    expect(await runCli(['host', 'caps'], hostCommands, b.io)).toBe(0);
    expect(b.out.stdout).toMatch(/^Accelerator for "auto"\s+(kvm|tcg): /m);
    const c = io();
    expect(await runCli(['host', 'check', '--nope'], hostCommands, c.io)).toBe(2);
    expect(c.out.stderr).toContain('Usage: virtdesk host check');
  });
});
