import { ESLint } from 'eslint';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const eslint = new ESLint({ cwd: root });

async function layeringErrors(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('the import-direction rule (DESIGN.md house rule 1)', () => {
  it('refuses electron in the engine', async () => {
    const errors = await layeringErrors('engine/vm/bad.ts', "import { app } from 'electron';\nexport const x = app;\n");
    expect(errors).toEqual([expect.stringContaining('never imports electron')]);
  });

  it('refuses renderer and host code in the engine', async () => {
    const errors = await layeringErrors(
      'engine/vm/bad.ts',
      "import { a } from '../../renderer/src/x';\nimport { b } from '../../main/serve/server';\nexport const x = [a, b];\n",
    );
    expect(errors).toHaveLength(2);
  });

  it('refuses engine/vm in engine/libvirt, and allows its own folders and the model', async () => {
    const errors = await layeringErrors('engine/libvirt/bad.ts', "import { startVm } from '../vm/start';\nexport const x = startVm;\n");
    expect(errors).toEqual([expect.stringContaining('engine/libvirt never imports engine/vm')]);
    const allowed = await layeringErrors('engine/libvirt/connections/ok.ts', "import { a } from '../domains/domain-types';\nimport { b } from '../../model';\nexport const x = [a, b];\n");
    expect(allowed).toEqual([]);
  });

  it('refuses Node modules and engine internals in the renderer', async () => {
    const errors = await layeringErrors(
      'renderer/src/bad.ts',
      "import { readFile } from 'node:fs/promises';\nimport fs from 'fs';\nimport { start } from '../../engine/vm/manager';\nexport const x = [readFile, fs, start];\n",
    );
    expect(errors).toHaveLength(3);
    expect(errors.join('\n')).toContain('nothing from the engine but engine/api');
  });

  it('refuses Node modules in engine/api, which the renderer bundles', async () => {
    const errors = await layeringErrors('engine/api/bad.ts', "import { join } from 'node:path';\nexport const x = join;\n");
    expect(errors).toEqual([expect.stringContaining('no Node modules')]);
  });

  it('allows the renderer to import engine/api', async () => {
    const errors = await layeringErrors(
      'renderer/src/good.ts',
      "import type { HostInfo } from '../../engine/api/virtdesk-api';\nexport type X = HostInfo;\n",
    );
    expect(errors).toEqual([]);
  });

  it('fails the lint run as a whole on a violating file', async () => {
    const [result] = await eslint.lintText("import { spawn } from 'node:child_process';\nexport const s = spawn;\n", {
      filePath: 'renderer/src/lib/bad.ts',
    });
    expect(result?.errorCount).toBeGreaterThan(0);
  });
});

describe('the model stays browser-safe (the renderer bundles it through engine/api)', () => {
  it('refuses Node modules in engine/model', async () => {
    const errors = await layeringErrors('engine/model/bad.ts', "import { randomUUID } from 'node:crypto';\nexport const x = randomUUID;\n");
    expect(errors).toEqual([expect.stringContaining('no Node modules')]);
  });

  it('lets engine/api import engine/model but not the rest of the engine', async () => {
    expect(await layeringErrors('engine/api/ok.ts', "import { vmDefinitionSchema } from '../model';\nexport const x = vmDefinitionSchema;\n")).toEqual([]);
    expect(await layeringErrors('engine/api/bad.ts', "import { launchQemu } from '../vm/launcher';\nexport const x = launchQemu;\n")).toHaveLength(1);
  });
});
