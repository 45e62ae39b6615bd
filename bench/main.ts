import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runSuite, type SuiteResult } from './harness';
import { formatSuite } from './report';
import { suites } from './suites';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string', multiple: true },
    out: { type: 'string' },
  },
});

const selected = values.only?.length ? suites.filter((suite) => values.only!.includes(suite.id)) : suites;
const unknown = (values.only ?? []).filter((id) => !suites.some((suite) => suite.id === id));
if (unknown.length > 0) {
  process.stderr.write(`bench: unknown suite(s) ${unknown.join(', ')}; known: ${suites.map((s) => s.id).join(', ')}\n`);
  process.exit(2);
}

const quick = values.quick ?? false;
process.stdout.write(`Virtdesk benchmarks${quick ? ' (quick: proves the suites run; numbers are not meaningful)' : ''}\n`);
const results: SuiteResult[] = [];
for (const suite of selected) {
  const result = await runSuite(suite, { quick, log: (line) => process.stdout.write(`  [${suite.id}] ${line}\n`) });
  results.push(result);
  process.stdout.write(`${formatSuite(result)}\n`);
}

const folder = values.out ?? fileURLToPath(new URL('../../bench/results/', import.meta.url));
await mkdir(folder, { recursive: true });
const file = join(folder, `${new Date().toISOString().replace(/[:.]/g, '-')}${quick ? '-quick' : ''}.json`);
await writeFile(file, JSON.stringify({ date: new Date().toISOString(), quick, results }, null, 2));
process.stdout.write(`\nResults written to ${file}\n`);
process.exitCode = results.some((result) => result.error) ? 1 : 0;
