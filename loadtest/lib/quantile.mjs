/**
 * The nearest-rank quantile of an ascending array: the smallest value with at least a fraction `q` of the values at
 * or below it (NaN for an empty array). One definition for every loadtest percentile.
 */
export function quantile(sorted, q) {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? NaN;
}
