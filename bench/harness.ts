import { cpus, loadavg } from 'node:os';

/**
 * Interleaved measurement: every round runs each variant once, in an order rotated per round,
 * so drift on a noisy machine lands on all variants alike. Reports medians and ratios of medians.
 */
export interface Variant {
  label: string;
  /** One measurement, in the suite's unit. */
  measure(): Promise<number>;
  /** Set when this variant cannot run here; the suite prints the reason and goes on. */
  skip?: string;
}

export interface SuiteDefinition {
  id: string;
  title: string;
  unit: string;
  /** Lower is better for times and memory; higher for frame rates. */
  better: 'lower' | 'higher';
  /** The label of the variant the others are compared with. */
  reference?: string;
  /** What the issue promises, printed beside the result. */
  target?: string;
  rounds: { full: number; quick: number };
  /** Whether the target is met, in a line (undefined when the numbers needed are missing). */
  verdict?(variants: VariantResult[]): string | undefined;
  /** Builds the variants (may start VMs); `dispose` cleans everything up. */
  setup(context: SuiteContext): Promise<{ variants: Variant[]; dispose(): Promise<void> }>;
}

export interface SuiteContext {
  quick: boolean;
  log(line: string): void;
}

export interface VariantResult {
  label: string;
  samples: number[];
  median?: number;
  min?: number;
  max?: number;
  ratioToReference?: number;
  skipped?: string;
}

export interface SuiteResult {
  id: string;
  title: string;
  unit: string;
  better: 'lower' | 'higher';
  reference?: string;
  target?: string;
  variants: VariantResult[];
  verdict?: string;
  /** The 1/5/15-minute load averages when the suite started and ended, and the core count. */
  load?: { start: number[]; end: number[]; cores: number };
  error?: string;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export async function measureInterleaved(variants: readonly Variant[], rounds: number): Promise<VariantResult[]> {
  const runnable = variants.filter((variant) => !variant.skip);
  const samples = new Map<string, number[]>(runnable.map((variant) => [variant.label, []]));
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < runnable.length; i++) {
      const variant = runnable[(i + round) % runnable.length]!;
      samples.get(variant.label)!.push(await variant.measure());
    }
  }
  return variants.map((variant) => {
    if (variant.skip) return { label: variant.label, samples: [], skipped: variant.skip };
    const values = samples.get(variant.label)!;
    return { label: variant.label, samples: values, median: median(values), min: Math.min(...values), max: Math.max(...values) };
  });
}

export function withRatios(results: VariantResult[], reference: string | undefined): VariantResult[] {
  const base = results.find((result) => result.label === reference)?.median;
  if (base === undefined || base === 0) return results;
  return results.map((result) => (result.median === undefined ? result : { ...result, ratioToReference: result.median / base }));
}

export async function runSuite(suite: SuiteDefinition, context: SuiteContext): Promise<SuiteResult> {
  const header = { id: suite.id, title: suite.title, unit: suite.unit, better: suite.better, reference: suite.reference, target: suite.target };
  const start = loadavg();
  const load = () => ({ start, end: loadavg(), cores: cpus().length });
  let prepared: Awaited<ReturnType<SuiteDefinition['setup']>> | undefined;
  try {
    prepared = await suite.setup(context);
    const rounds = context.quick ? suite.rounds.quick : suite.rounds.full;
    const variants = withRatios(await measureInterleaved(prepared.variants, rounds), suite.reference);
    const judged = suite.verdict?.(variants);
    // A quick run only proves the suite works: too few rounds (and VMs) to judge a target.
    const verdict = judged && context.quick ? `(quick run, not a measurement) ${judged}` : judged;
    return { ...header, variants, ...(verdict ? { verdict } : {}), load: load() };
  } catch (error) {
    return { ...header, variants: [], error: error instanceof Error ? error.message : String(error), load: load() };
  } finally {
    await prepared?.dispose();
  }
}
