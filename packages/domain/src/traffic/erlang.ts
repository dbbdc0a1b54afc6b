/**
 * Teletraffic maths (pure). Erlang-B: the probability that a call offered to `channels`
 * circuits finds them all busy, for offered traffic `erlangs` (Poisson arrivals, blocked
 * calls cleared). Computed with the stable recurrence
 *   B(0) = 1,  B(n) = A·B(n−1) / (n + A·B(n−1)),
 * which never forms A^n or n! and so stays exact in floating point for thousands of channels.
 */

/** Erlang-B blocking probability for `erlangs` offered to `channels` circuits. */
export function erlangB(erlangs: number, channels: number): number {
  if (!Number.isFinite(erlangs) || erlangs < 0) throw new RangeError(`offered traffic must be ≥ 0 erlangs: ${erlangs}`);
  if (!Number.isInteger(channels) || channels < 0) throw new RangeError(`channels must be a whole number ≥ 0: ${channels}`);
  if (erlangs === 0) return channels === 0 ? 1 : 0;
  let b = 1;
  for (let n = 1; n <= channels; n++) b = (erlangs * b) / (n + erlangs * b);
  return b;
}

/** Largest channel count this function will recommend (a tenant contract tops out at 20,000 ports). */
export const MAX_SIZING_CHANNELS = 100_000;

/**
 * The fewest channels that carry `erlangs` with blocking at most `target` (e.g. 0.01 for 1 %):
 * the Erlang-B sizing recommendation. One pass of the recurrence, stopping at the first n that meets it.
 */
export function channelsForBlocking(erlangs: number, target = 0.01): number {
  if (!(target > 0 && target < 1)) throw new RangeError(`target blocking must be in (0, 1): ${target}`);
  if (!Number.isFinite(erlangs) || erlangs < 0) throw new RangeError(`offered traffic must be ≥ 0 erlangs: ${erlangs}`);
  if (erlangs === 0) return 0;
  let b = 1;
  for (let n = 1; n <= MAX_SIZING_CHANNELS; n++) {
    b = (erlangs * b) / (n + erlangs * b);
    if (b <= target) return n;
  }
  throw new RangeError(`more than ${MAX_SIZING_CHANNELS} channels needed for ${erlangs} erlangs`);
}

/**
 * The offered traffic (erlangs) that `channels` circuits carry at exactly `blocking`: the inverse
 * the published Erlang-B tables list. Bisection on the monotone B(A); 1e-9 relative precision.
 */
export function trafficForBlocking(channels: number, blocking: number): number {
  if (!(blocking > 0 && blocking < 1)) throw new RangeError(`blocking must be in (0, 1): ${blocking}`);
  if (!Number.isInteger(channels) || channels < 1) throw new RangeError(`channels must be a whole number ≥ 1: ${channels}`);
  let lo = 0;
  let hi = channels * 2 + 10;
  while (erlangB(hi, channels) < blocking) hi *= 2;
  for (let i = 0; i < 200 && hi - lo > hi * 1e-12; i++) {
    const mid = (lo + hi) / 2;
    if (erlangB(mid, channels) < blocking) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** Traffic in erlangs: total holding time divided by the observation period (same unit). */
export function erlangsOf(holdingMs: number, periodMs: number): number {
  if (!(periodMs > 0)) throw new RangeError(`period must be > 0: ${periodMs}`);
  return holdingMs / periodMs;
}

/** Traffic in erlangs from a call count and mean holding time: A = λ·h (calls per hour × hours per call). */
export function erlangsFromCalls(callsPerHour: number, meanHoldingSeconds: number): number {
  return (callsPerHour * meanHoldingSeconds) / 3600;
}

/** Share of offered calls that were blocked; 0 when nothing was offered. */
export function blockingRate(offered: number, blocked: number): number {
  return offered > 0 ? blocked / offered : 0;
}

/** The busy hour (最繁時) of a series: the index of the largest value; ties go to the earliest. -1 when empty. */
export function busiestIndex(values: readonly number[]): number {
  let best = -1;
  for (let i = 0; i < values.length; i++) if (best < 0 || (values[i] as number) > (values[best] as number)) best = i;
  return best;
}

/**
 * Time-consistent busy hour: the hour of day (0–23, JST) whose traffic, averaged over the days
 * observed, is largest (ITU-T E.500's time-consistent busy hour). `hourly[d][h]` is day d, hour h.
 */
export function timeConsistentBusyHour(hourly: readonly (readonly number[])[]): { hour: number; erlangs: number } | null {
  if (hourly.length === 0) return null;
  const mean: number[] = new Array<number>(24).fill(0);
  for (const day of hourly) for (let h = 0; h < 24; h++) mean[h] = (mean[h] as number) + (day[h] ?? 0) / hourly.length;
  const hour = busiestIndex(mean);
  return { hour, erlangs: mean[hour] as number };
}
