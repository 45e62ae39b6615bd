import { describe, expect, it } from 'vitest';
import { buildQemuArgv, shellQuote } from '../../../engine/qemu/argv';
import { vm } from './helpers';

const paths = { runDir: '/run/vd', qmpSocket: '/run/vd/qmp.sock', vncSocket: '/run/vd/vnc.sock', serialSocket: '/run/vd/serial.sock', serialLog: '/data/serial.log', pidFile: '/run/vd/qemu.pid' };

function argv(options: Parameters<typeof buildQemuArgv>[0]['options']) {
  return buildQemuArgv({ definition: vm(), accel: 'tcg', cpuModel: 'max', paths, caps: { devices: new Set(['virtio-net-pci', 'virtio-vga', 'pcie-root-port', 'qemu-xhci', 'usb-tablet', 'isa-serial', 'virtio-balloon-pci', 'virtio-rng-pci']) }, ...(options ? { options } : {}) });
}

describe('argv for a restore', () => {
  it('waits for the saved state with -incoming defer, still paused, and pins the machine version', () => {
    const args = argv({ incoming: 'defer', machineType: 'pc-q35-7.1' });
    expect(args.slice(args.indexOf('-incoming'), args.indexOf('-incoming') + 2)).toEqual(['-incoming', 'defer']);
    expect(args).toContain('-S');
    expect(args[args.indexOf('-machine') + 1]).toMatch(/^type=pc-q35-7\.1,/);
  });

  it('has neither without the options', () => {
    const args = argv(undefined);
    expect(args).not.toContain('-incoming');
    expect(args[args.indexOf('-machine') + 1]).toMatch(/^type=q35,/);
  });
});

describe('shellQuote for exec: migration URIs', () => {
  it('keeps spaces, quotes and dollars literal', () => {
    expect(shellQuote('/home/a b/it\'s $HOME/x')).toBe(`'/home/a b/it'\\''s $HOME/x'`);
  });
});
