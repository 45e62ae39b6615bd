import type { ProgressListener } from './types';

/**
 * Parses qemu-img's `-p` output, `    (12.34/100%)` lines separated by carriage returns,
 * into progress events. Chunks may split a line anywhere; only changed values are emitted.
 */
export function progressParser(listener: ProgressListener): (chunk: string) => void {
  let pending = '';
  let last = -1;
  return (chunk) => {
    pending += chunk;
    const parts = pending.split(/[\r\n]/);
    pending = parts.pop() ?? '';
    for (const part of parts) {
      const match = /\((\d+(?:\.\d+)?)\/100%\)/.exec(part);
      if (!match) continue;
      const percent = Math.min(100, Number(match[1]));
      if (percent !== last) {
        last = percent;
        listener({ percent });
      }
    }
  };
}
