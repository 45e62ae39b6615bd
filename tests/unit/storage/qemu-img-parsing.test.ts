import { describe, expect, it } from 'vitest';
import { qemuImgError } from '../../../engine/storage/qemu-img/errors';
import { progressParser } from '../../../engine/storage/qemu-img/progress';
import type { ProgressEvent } from '../../../engine/storage/qemu-img/types';

describe('progressParser', () => {
  it('reads carriage-return separated progress lines split across chunks', () => {
    const events: ProgressEvent[] = [];
    const feed = progressParser((e) => events.push(e));
    feed('    (0.00/100%)\r    (12.');
    feed('34/100%)\r    (12.34/100%)\r    (50.00/1');
    feed('00%)\r    (100.00/100%)\r\n');
    expect(events.map((e) => e.percent)).toEqual([0, 12.34, 50, 100]);
  });
});

describe('qemuImgError', () => {
  it('says a locked image is in use by a running VM', () => {
    const error = qemuImgError('Resizing image "a.qcow2"', `qemu-img: Could not open 'a.qcow2': Failed to get "write" lock\nIs another process using the image [a.qcow2]?\n`, 1);
    expect(error.code).toBe('conflict');
    expect(error.message).toMatch(/^Resizing image "a.qcow2" failed: the image is in use by another program, most likely a running VM/);
    expect(error.hint).toMatch(/Shut down the VM/);
    expect(error.details?.qemuImg).toMatch(/Failed to get "write" lock/);
  });
  it('maps the shared lock message the same way', () => {
    expect(qemuImgError('x', `qemu-img: Could not open 'a': Failed to get shared "write" lock`, 1).code).toBe('conflict');
  });
  it('explains a corrupt image', () => {
    const error = qemuImgError('Resizing', `qemu-img: Could not open 'c.qcow2': qcow2: Image is corrupt; cannot be opened read/write`, 1);
    expect(error.code).toBe('invalid-state');
    expect(error.hint).toMatch(/check --repair/);
  });
  it('keeps an unknown message as qemu-img said it', () => {
    const error = qemuImgError('Doing', 'qemu-img: something odd happened\n', 1);
    expect(error.code).toBe('qemu-error');
    expect(error.message).toBe('Doing failed: something odd happened');
  });
});
