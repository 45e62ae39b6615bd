import { describe, expect, it } from 'vitest';
import { createVmDefinition } from '../../../engine/model';
import { Cleanup } from '../../../bench/support/cleanup';
import { domainXml } from '../../../bench/support/libvirt';
import { perRound } from '../../../bench/support/per-round';
import { difference, pairedMedian, ratio } from '../../../bench/support/paired';
import { parseParentPid } from '../../../bench/support/proc';

describe('perRound', () => {
  it('takes one measurement per round and hands each variant its part of it', async () => {
    let taken = 0;
    const measure = perRound(async () => ++taken);
    // Round 1 in one order, round 2 in another: each variant's n-th call gets measurement n.
    expect([await measure('a'), await measure('b')]).toEqual([1, 1]);
    expect([await measure('b'), await measure('a')]).toEqual([2, 2]);
    expect(taken).toBe(2);
  });
});

describe('Cleanup', () => {
  it('undoes steps last first, keeps going past a failing one, and cleans up when a setup throws', async () => {
    const done: string[] = [];
    const logged: string[] = [];
    const cleanup = new Cleanup();
    await expect(
      cleanup.guard(async () => {
        cleanup.add(() => done.push('home'));
        cleanup.add(() => {
          throw new Error('serve already gone');
        });
        cleanup.add(() => done.push('browser'));
        throw new Error('boot failed');
      }, (line) => logged.push(line)),
    ).rejects.toThrow('boot failed');
    expect(done).toEqual(['browser', 'home']);
    expect(logged).toEqual(['cleanup failed: serve already gone']);
  });
});

describe('parseParentPid', () => {
  it('reads the parent pid even when the process name holds spaces and parentheses', () => {
    expect(parseParentPid('4242 (node (bench) x) S 17 4242 4242 0 -1 4194560 ...')).toBe(17);
  });
});

describe('libvirt domain XML', () => {
  const def = createVmDefinition({
    name: 'bench',
    accelerator: 'tcg',
    memory: { maximumMiB: 256 },
    directKernel: { kernel: '/guest/vmlinuz', initrd: '/guest/initrd.img', cmdline: 'console=ttyS0 quiet' },
    nics: [],
  });
  const files = { kernel: '/d/vmlinuz', initrd: '/d/initrd.img', vncSocket: '/d/vnc.sock', serialSocket: '/d/serial.sock', serialLog: '/d/serial.log' };

  it('describes the same TCG guest and devices as our argv', () => {
    const xml = domainXml('vdbench-1', def, files, 'pa<ss');
    expect(xml).toContain("<domain type='qemu'>");
    expect(xml).toContain("<memory unit='MiB'>256</memory>");
    expect(xml).toContain('<vcpu>1</vcpu>');
    expect(xml).toContain(`machine='${def.machine}'`);
    expect(xml).toContain('<kernel>/d/vmlinuz</kernel>');
    expect(xml).toContain('<initrd>/d/initrd.img</initrd>');
    expect(xml).toContain('<cmdline>console=ttyS0 quiet</cmdline>');
    expect(xml).toContain("<graphics type='vnc' passwd='pa&lt;ss'><listen type='socket' socket='/d/vnc.sock'/></graphics>");
    expect(xml).toContain("<model type='virtio'/>");
    expect(xml).toContain("<input type='tablet' bus='usb'/>");
    expect(xml).toContain("<source mode='bind' path='/d/serial.sock'/><log file='/d/serial.log' append='on'/>");
    expect(xml).toContain("<memballoon model='virtio'/>");
    expect(xml).toContain("<rng model='virtio'>");
  });

  it('leaves out what the definition turns off', () => {
    const bare = createVmDefinition({ ...def, balloon: false, rng: false, serial: false, display: { vnc: true, video: 'std', usbTablet: false } });
    const xml = domainXml('vdbench-2', bare, { ...files, initrd: undefined }, 'x');
    expect(xml).toContain("<memballoon model='none'/>");
    expect(xml).not.toContain('<rng');
    expect(xml).not.toContain('<serial');
    expect(xml).not.toContain('<initrd>');
    expect(xml).toContain("<model type='vga'/>");
    expect(xml).not.toContain('tablet');
  });

  it('refuses definitions it does not cover', () => {
    const withDisk = createVmDefinition({ ...def, disks: [{ source: '/d/disk.qcow2', format: 'qcow2' }] });
    expect(() => domainXml('x', withDisk, files, 'x')).toThrow(/without disks/);
  });
});

describe('pairedMedian', () => {
  it('compares the samples of the same round and takes the median of those comparisons', () => {
    const variants = [
      { label: 'direct', samples: [30, 20, 25] },
      { label: 'browser', samples: [27, 19, 20] },
    ];
    expect(pairedMedian(variants, 'browser', 'direct', ratio)).toBeCloseTo(0.9);
    expect(pairedMedian(variants, 'browser', 'direct', difference)).toBe(-3);
    expect(pairedMedian(variants, 'missing', 'direct', ratio)).toBeUndefined();
  });
});
