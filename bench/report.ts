import type { SuiteResult } from './harness';

function format(value: number | undefined, unit: string): string {
  if (value === undefined) return '–';
  const digits = Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2;
  return `${value.toFixed(digits)} ${unit}`;
}

/** A plain-text table per suite: median, min, max, samples, ratio to the reference. */
export function formatSuite(result: SuiteResult): string {
  const lines = [`\n${result.title} (${result.better} is better${result.target ? `; target: ${result.target}` : ''})`];
  if (result.load) {
    const avg = (values: number[]) => values.map((value) => value.toFixed(2)).join(' ');
    lines.push(`  load average ${avg(result.load.start)} at start, ${avg(result.load.end)} at end (${result.load.cores} cores)`);
  }
  if (result.error) {
    lines.push(`  FAILED: ${result.error}`);
    return lines.join('\n');
  }
  const rows = [['variant', 'median', 'min', 'max', 'n', `ratio to ${result.reference ?? '–'}`]];
  for (const variant of result.variants) {
    if (variant.skipped) {
      rows.push([variant.label, `skipped: ${variant.skipped}`, '', '', '', '']);
      continue;
    }
    rows.push([
      variant.label,
      format(variant.median, result.unit),
      format(variant.min, result.unit),
      format(variant.max, result.unit),
      String(variant.samples.length),
      variant.ratioToReference === undefined ? '–' : `${variant.ratioToReference.toFixed(2)}×`,
    ]);
  }
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => (row[column]!.startsWith('skipped') ? 0 : row[column]!.length))));
  for (const row of rows) {
    if (row[1]!.startsWith('skipped')) lines.push(`  ${row[0]!.padEnd(widths[0]!)}  ${row[1]}`);
    else lines.push(`  ${row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd()}`);
  }
  if (result.verdict) lines.push(`  ${result.verdict}`);
  return lines.join('\n');
}
