import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../..', import.meta.url));

/**
 * `virtdesk vm start` spawns QEMU from main/cli.ts before anything else loads (engine/vm/ops/fast-start):
 * everything that entry pulls in is on the start's critical path, so it must stay small.
 */
describe('the CLI entry (dist/node/cli.cjs)', () => {
  it('bundles no zod, no engine service and under 40 KB of code', async () => {
    const result = await build({
      absWorkingDir: root,
      entryPoints: ['main/cli.ts'],
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.filter((input) => input.includes('node_modules'))).toEqual([]);
    expect(inputs.filter((input) => /engine\/(model\/(?!errors)|api\/(?!errors)|storage|network|host|qemu)\b/.test(input))).toEqual([]);
    expect(inputs).toContain('engine/vm/ops/fast-start/speculative-launch.ts');
    const bytes = result.outputFiles.reduce((sum, file) => sum + file.contents.length, 0);
    expect(bytes).toBeLessThan(40_000);
  });
});
