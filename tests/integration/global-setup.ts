import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Builds (or reuses) the cached test guest once, before any integration test file runs. */
export default function setup(): void {
  const script = fileURLToPath(new URL('../guest/build.sh', import.meta.url));
  execFileSync('bash', [script], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 600_000 });
}
