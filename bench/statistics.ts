/**
 * Summary statistics of benchmark samples. Percentiles use the nearest-rank method: the p-th
 * percentile of n sorted samples is the ⌈p/100 · n⌉-th one, so it is always a measured value.
 */

/** Summary of a list of samples (same unit as the samples; `NaN` fields for no samples). */
export interface Summary {
  count: number;
  mean: number;
  p50: number;
  p95: number;
  max: number;
}

/**
 * The nearest-rank percentile `p` (0 < p ≤ 100) of `samples`; `NaN` when there are none.
 * @throws RangeError when `p` is outside (0, 100].
 */
export function percentile(samples: readonly number[], p: number): number {
  if (!(p > 0 && p <= 100)) throw new RangeError(`percentile must be in (0, 100], got ${p}`);
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.ceil((p / 100) * sorted.length) - 1]!;
}

/** Count, mean, p50, p95 and max of `samples`. */
export function summarize(samples: readonly number[]): Summary {
  const count = samples.length;
  const mean = count === 0 ? Number.NaN : samples.reduce((sum, x) => sum + x, 0) / count;
  return { count, mean, p50: percentile(samples, 50), p95: percentile(samples, 95), max: count === 0 ? Number.NaN : Math.max(...samples) };
}
