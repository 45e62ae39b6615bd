import type { Terminal } from '@xterm/xterm';

/** xterm.js and its stylesheet, loaded on demand: only the serial tab needs them. */
export async function loadXterm(): Promise<typeof Terminal> {
  const [module] = await Promise.all([import('@xterm/xterm'), import('@xterm/xterm/css/xterm.css')]);
  return module.Terminal;
}
