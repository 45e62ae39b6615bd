// `npm test`: every check, in order from cheapest to most expensive, stopping at the first
// failure. Ends with one plain line of totals: `N passed, N failed`.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const reports = `${root}/test-results/reports`;
rmSync(reports, { recursive: true, force: true });
mkdirSync(reports, { recursive: true });

const totals = { passed: 0, failed: 0, skipped: 0 };

function step(title, command, args) {
  process.stdout.write(`\n=== ${title}: ${command} ${args.join(' ')}\n`);
  const started = Date.now();
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  const ok = result.status === 0;
  process.stdout.write(`=== ${title}: ${ok ? 'ok' : `FAILED (exit ${result.status ?? result.signal})`} in ${seconds} s\n`);
  return ok;
}

function countVitest(file) {
  try {
    const report = JSON.parse(readFileSync(file, 'utf8'));
    totals.passed += report.numPassedTests;
    totals.failed += report.numFailedTests;
    totals.skipped += report.numPendingTests + report.numTodoTests;
  } catch {
    totals.failed += 1;
  }
}

function countPlaywright(file) {
  try {
    const stats = JSON.parse(readFileSync(file, 'utf8')).stats;
    totals.passed += stats.expected + stats.flaky;
    totals.failed += stats.unexpected;
    totals.skipped += stats.skipped;
  } catch {
    totals.failed += 1;
  }
}

function finish(ok) {
  process.stdout.write(`\n${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped\n`);
  process.exit(ok && totals.failed === 0 ? 0 : 1);
}

const npx = 'npx';
const vitest = (project) => [
  'vitest', 'run', '--project', project, '--reporter=default', '--reporter=json', `--outputFile.json=${reports}/${project}.json`,
];

const steps = [
  () => step('Debian packages', 'bash', ['tests/setup.sh']),
  () => step('lint', npx, ['eslint', '.']),
  () => step('typecheck', 'npm', ['run', '--silent', 'typecheck']),
  () => step('build', 'node', ['scripts/build.mjs', '--quiet']),
  () => {
    const ok = step('unit and golden tests', npx, vitest('unit'));
    countVitest(`${reports}/unit.json`);
    return ok;
  },
  () => {
    const ok = step('renderer state specs (*.svelte.spec.ts)', npx, vitest('svelte'));
    countVitest(`${reports}/svelte.json`);
    return ok;
  },
  () => {
    const ok = step('integration tests (real QEMU under TCG)', npx, vitest('integration'));
    countVitest(`${reports}/integration.json`);
    return ok;
  },
  () => {
    process.env.PLAYWRIGHT_JSON_OUTPUT_NAME = `${reports}/e2e.json`;
    const ok = step('e2e tests (Chromium against virtdesk serve)', npx, ['playwright', 'test', '--reporter=list,json']);
    countPlaywright(`${reports}/e2e.json`);
    return ok;
  },
  () => step('benchmarks, quick mode (proves every suite still runs; bench/README.md)', 'node', ['dist/node/bench.mjs', '--quick']),
];

for (const run of steps) {
  if (!run()) finish(false);
}
finish(true);
