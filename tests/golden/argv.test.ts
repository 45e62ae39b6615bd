import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { listSchemaFields, valuesAtPath, vmDefinitionInputSchema } from '../../engine/model';
import { buildQemuArgv } from '../../engine/qemu/argv';
import { goldenArgvInput, goldenDefinition, loadGoldenCases } from './argv/golden-cases';

// Regenerate with: VIRTDESK_UPDATE_GOLDEN=1 npx vitest run --project unit tests/golden/argv.test.ts
const UPDATE = process.env.VIRTDESK_UPDATE_GOLDEN === '1';
const cases = loadGoldenCases();

describe('golden argv', () => {
  it('has at least 15 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(15);
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s', (_name, goldenCase) => {
    const actual = buildQemuArgv(goldenArgvInput(goldenCase.spec)).join('\n') + '\n';
    if (UPDATE) {
      writeFileSync(goldenCase.argsFile, actual);
      return;
    }
    if (!existsSync(goldenCase.argsFile)) {
      throw new Error(`${goldenCase.argsFile} is missing; create it with VIRTDESK_UPDATE_GOLDEN=1`);
    }
    // Compared line by line so a mismatch shows as a diff of arguments.
    expect(actual.split('\n')).toEqual(readFileSync(goldenCase.argsFile, 'utf8').split('\n'));
  });
});

describe('golden cases cover the whole model', () => {
  const fields = listSchemaFields(vmDefinitionInputSchema).filter((field) => field.type !== 'literal');
  const inputs = cases.map((c) => c.spec.definition);
  const definitions = cases.map((c) => goldenDefinition(c.spec));

  it.each(fields.map((field) => [field.path, field] as const))('%s', (path, field) => {
    const resulting = definitions.flatMap((def) => valuesAtPath(def, path)).filter((value) => value !== null);
    if (field.type === 'enum') {
      // Every option of an enum is used by some case (defaults included).
      expect(new Set(resulting), `options of ${path}`).toEqual(new Set(field.options));
      return;
    }
    if (field.type === 'boolean') {
      expect(new Set(resulting), `values of ${path}`).toEqual(new Set([true, false]));
      return;
    }
    // Some case gives the field explicitly, with a value other than its default.
    const given = inputs.flatMap((input) => valuesAtPath(input, path));
    const nonDefault = field.hasDefault ? given.filter((value) => JSON.stringify(value) !== JSON.stringify(field.default)) : given.filter((value) => value !== null);
    expect(nonDefault.length, `cases giving ${path} a non-default value`).toBeGreaterThan(0);
  });
});
