/**
 * Ports in use over a period (pure, streaming), for the monthly operation report: a call holds a
 * port from its start to its end; "ports in use in a minute" is the number of calls that held a port
 * at any time in that minute (the figure a port-count contract is sized against). Blocked calls hold none.
 * Computed with a difference array over the period's minutes: O(calls + minutes).
 */
import { jstDateOf } from '../rating/month.js';
import { jstHourOfDay, type TrafficCall } from './report.js';

const MINUTE_MS = 60_000;

export interface PortUsage {
  /** Largest number of ports in use in any minute, and the first minute it happened (epoch ms). */
  readonly peak: number;
  readonly peakAt: number | null;
  /** 95th percentile of the per-minute values (nearest rank). */
  readonly p95: number;
  /** Mean of the per-minute values. */
  readonly mean: number;
  /** Per JST hour of day (0–23): mean and peak of the per-minute values in that hour over the period. */
  readonly byHourOfDay: readonly { readonly hour: number; readonly mean: number; readonly peak: number }[];
  /** Per JST date: the peak. */
  readonly byDay: readonly { readonly date: string; readonly peak: number }[];
}

export class PortUsageAccumulator {
  private readonly first: number;
  private readonly minutes: number;
  private readonly diff: Int32Array;

  constructor(readonly from: number, readonly to: number) {
    if (!(to > from)) throw new RangeError('period must end after it starts');
    this.first = Math.floor(from / MINUTE_MS);
    this.minutes = Math.ceil(to / MINUTE_MS) - this.first;
    if (this.minutes > 60 * 24 * 400) throw new RangeError('period longer than 400 days');
    this.diff = new Int32Array(this.minutes + 1);
  }

  add(c: TrafficCall): void {
    if (c.blockedBy !== null) return;
    const a = Math.max(0, Math.floor(c.startedAt / MINUTE_MS) - this.first);
    // The minute of the last held millisecond (a call ending exactly on a minute does not hold the next one).
    const b = Math.min(this.minutes - 1, Math.floor((Math.max(c.endedAt, c.startedAt + 1) - 1) / MINUTE_MS) - this.first);
    if (b < 0 || a >= this.minutes || b < a) return;
    this.diff[a] = (this.diff[a] as number) + 1;
    this.diff[b + 1] = (this.diff[b + 1] as number) - 1;
  }

  result(): PortUsage {
    const values = new Uint32Array(this.minutes);
    let cur = 0;
    let peak = 0;
    let peakAt: number | null = null;
    let sum = 0;
    const hodSum = new Float64Array(24);
    const hodN = new Uint32Array(24);
    const hodPeak = new Uint32Array(24);
    const days: { date: string; peak: number }[] = [];
    for (let i = 0; i < this.minutes; i++) {
      cur += this.diff[i] as number;
      values[i] = cur;
      sum += cur;
      const at = (this.first + i) * MINUTE_MS;
      if (cur > peak) {
        peak = cur;
        peakAt = at;
      }
      const h = jstHourOfDay(at);
      hodSum[h] = (hodSum[h] as number) + cur;
      hodN[h] = (hodN[h] as number) + 1;
      if (cur > (hodPeak[h] as number)) hodPeak[h] = cur;
      if (i % 60 === 0 || i === 0) {
        const date = jstDateOf(at);
        if (days.length === 0 || days[days.length - 1]?.date !== date) days.push({ date, peak: 0 });
      }
      const d = days[days.length - 1];
      if (d && cur > d.peak) d.peak = cur;
    }
    const sorted = values.slice().sort();
    const rank = Math.max(0, Math.ceil(0.95 * sorted.length) - 1);
    return {
      peak,
      peakAt,
      p95: sorted.length === 0 ? 0 : (sorted[rank] as number),
      mean: this.minutes === 0 ? 0 : sum / this.minutes,
      byHourOfDay: Array.from({ length: 24 }, (_, hour) => ({ hour, mean: (hodN[hour] as number) > 0 ? (hodSum[hour] as number) / (hodN[hour] as number) : 0, peak: hodPeak[hour] as number })),
      byDay: days,
    };
  }
}
