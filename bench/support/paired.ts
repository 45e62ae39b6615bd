import { median, type VariantResult } from '../harness';

/**
 * Per-round comparisons: the harness runs every variant once per round, back to back, so the
 * i-th samples of two variants were taken under nearly the same load. Comparing them pairwise
 * and taking the median cancels drift between rounds that a ratio of medians keeps.
 */
export function pairedMedian(variants: VariantResult[], label: string, reference: string, compare: (value: number, base: number) => number): number | undefined {
  const a = variants.find((variant) => variant.label === label)?.samples ?? [];
  const b = variants.find((variant) => variant.label === reference)?.samples ?? [];
  const pairs = Math.min(a.length, b.length);
  if (pairs === 0) return undefined;
  return median(Array.from({ length: pairs }, (_, i) => compare(a[i]!, b[i]!)));
}

export const ratio = (value: number, base: number) => value / base;
export const difference = (value: number, base: number) => value - base;
