import { launchSpeculatively } from '../vm/ops/fast-start/speculative-launch';
import { virtdeskHome } from '../paths';

/**
 * `virtdesk vm start NAME [--json]`: spawns the VM's QEMU (paused) from its launch cache before
 * the CLI loads the engine, for `vm start` to adopt. Any other command line is left alone.
 * Loaded before everything else, so it imports no engine service and no zod.
 */
export async function guessVmStart(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<void> {
  if (argv[0] !== 'vm' || argv[1] !== 'start') return;
  const names = argv.slice(2).filter((arg) => arg !== '--json');
  if (names.length !== 1 || names[0]!.startsWith('-')) return;
  await launchSpeculatively(virtdeskHome(env), names[0]!, env);
}
