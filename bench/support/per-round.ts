/**
 * For suites whose variants are parts of one measurement (CPU of serve, supervisors and QEMU over
 * the same window; memory of each process in the same snapshot): the first variant asked in a
 * round takes the measurement, the others of that round read their part of it. The harness asks
 * every variant once per round, so the n-th call of each variant gets the n-th measurement.
 */
export function perRound<T>(take: () => Promise<T>): (label: string) => Promise<T> {
  const taken: Promise<T>[] = [];
  const calls = new Map<string, number>();
  return (label) => {
    const index = calls.get(label) ?? 0;
    calls.set(label, index + 1);
    taken[index] ??= take();
    return taken[index]!;
  };
}
