import { ESLint } from 'eslint';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const eslint = new ESLint({ cwd: root });

async function syntaxErrors(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-syntax').map((m) => m.message);
}

const rawCommand = "declare const qmp: { execute(command: string): Promise<void> };\nexport const done = qmp.execute('migrate');\n";
const probeLine = "export const args = ['-machine', 'none', '-display', 'none'];\n";

describe('the closed monitor (DESIGN.md rule 6)', () => {
  it('refuses .execute( anywhere in the engine and main/ but engine/qemu/qmp', async () => {
    for (const file of ['engine/vm/bad.ts', 'engine/storage/vm-media/bad.ts', 'engine/host/bad.ts', 'main/serve/bad.ts']) {
      expect(await syntaxErrors(file, rawCommand)).toEqual([expect.stringContaining('named QmpClient method')]);
    }
  });

  it('allows it inside engine/qemu/qmp', async () => {
    expect(await syntaxErrors('engine/qemu/qmp/client-extra.ts', rawCommand)).toEqual([]);
  });
});

describe('QEMU option strings only in engine/qemu/argv (DESIGN.md rule 4)', () => {
  it('refuses qemu-system flags, QemuOpts socket flags and exec: URIs elsewhere', async () => {
    expect(await syntaxErrors('engine/host/bad.ts', probeLine)).toHaveLength(2);
    const chardev = 'declare const path: string;\nexport const c = `socket,id=m,path=${path},server=on,wait=off`;\n';
    expect(await syntaxErrors('engine/vm/bad.ts', chardev)).toEqual([expect.stringContaining('engine/qemu/argv')]);
    expect(await syntaxErrors('engine/qemu/qmp/bad.ts', "export const uri = 'exec:cat > /x';\n")).toEqual([expect.stringContaining('engine/qemu/argv')]);
  });

  it('leaves other tools\' flags alone (qemu-img, ip) and allows the builders', async () => {
    expect(await syntaxErrors('engine/storage/qemu-img/ok.ts', "export const args = ['convert', '-p', '-f', 'qcow2', '-O', 'raw', '-j'];\n")).toEqual([]);
    expect(await syntaxErrors('engine/qemu/argv/ok.ts', probeLine)).toEqual([]);
  });
});
