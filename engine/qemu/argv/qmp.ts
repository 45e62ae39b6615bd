import type { ArgvStep } from './context';
import { QEMU_IDS } from './ids';
import { optionList } from './qemu-option';

/** A listening unix socket chardev: QEMU owns it and outlives whoever connects. */
export function socketChardev(id: string, path: string, extra: readonly (readonly [string, string | boolean | undefined])[] = []): string {
  return `socket,${optionList([['id', id], ['path', path], ['server', true], ['wait', false], ...extra])}`;
}

/** QMP on the supervisor's socket, and optionally a second monitor for one-shot clients. */
export const qmpStep: ArgvStep = {
  name: 'qmp',
  build: ({ input }) => {
    const monitors: [string, string][] = [[QEMU_IDS.qmpChardev, input.paths.qmpSocket]];
    if (input.paths.qmpCommandSocket !== undefined) monitors.push([QEMU_IDS.qmpCommandChardev, input.paths.qmpCommandSocket]);
    return monitors.flatMap(([id, path]) => [
      '-chardev',
      socketChardev(id, path),
      '-mon',
      optionList([
        ['chardev', id],
        ['mode', 'control'],
      ]),
    ]);
  },
};
