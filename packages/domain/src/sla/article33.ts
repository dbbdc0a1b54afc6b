/**
 * SLA evidence for Article 33 of the service terms (pure).
 *
 * Article 33: when the service cannot be used **at all** for **48 hours or more in a row**, counted from
 * the moment the operator learned of it, for a cause attributable to the operator, the operator compensates
 * up to the fee for the unavailable time: the monthly fee divided per day (a month counts as **30 days**)
 * and then per hour. The tenant must claim within **3 months**.
 *
 * How this module applies it (docs/operations.md, "SLA and Article 33"):
 * - Only periods of complete unavailability (`scope: 'full'`) that are attributable to the service count.
 * - Each period counts from `max(start, detectedAt)`: the operator "learned of it" at detection.
 * - Overlapping or touching periods merge into one run; a run that crosses a month boundary keeps its
 *   full length for the 48 h test, and its time is split into the months (Asia/Tokyo) it covers.
 * - A run of ≥ 48 h (exactly 48 h included) qualifies. All of its time counts, not only the part past 48 h.
 * - Rounding, in the tenant's month: the qualifying time is truncated to whole hours per run,
 *   then `ceiling = floor(monthlyFeeYen × hours / (30 × 24))` — one truncation to whole yen at the end,
 *   so per-day and per-hour steps lose nothing to intermediate rounding.
 * - Claim deadline: the JST calendar date 3 months after the run ended (the last day of that month when it
 *   is shorter, e.g. 30 Nov → 28/29 Feb). An open run has no deadline yet.
 */
import { JST_OFFSET_MS, jstDateOf, jstMonthEndMs, jstMonthStartMs, type Month } from '../rating/month.js';

export const HOUR_MS = 3_600_000;
/** Article 33's threshold: 48 hours of complete unavailability in a row. */
export const ARTICLE33_THRESHOLD_MS = 48 * HOUR_MS;
/** A month counts as 30 days for the per-day fee. */
export const ARTICLE33_DAYS_PER_MONTH = 30;
export const ARTICLE33_CLAIM_MONTHS = 3;

/** A period of unavailability for one tenant, as the incidents record it. */
export interface UnavailabilityPeriod {
  readonly incidentId: string;
  /** When the fault began (may be before anyone noticed). Epoch ms. */
  readonly start: number;
  /** When the operator learned of it (probe alarm, fault report). */
  readonly detectedAt: number;
  /** When service was restored; null while still open. */
  readonly end: number | null;
  /** `full`: the tenant could not use the service at all; `partial`: degraded. */
  readonly scope: 'full' | 'partial';
  /** False for causes outside the operator's responsibility (tenant equipment, force majeure). */
  readonly attributable: boolean;
}

export interface SlaRun {
  /** Counted from: the earliest `max(start, detectedAt)` of the merged periods. */
  readonly from: number;
  /** End of the run (`now` for an open run). */
  readonly to: number;
  readonly open: boolean;
  readonly durationMs: number;
  /** ≥ 48 h: Article 33 applies. */
  readonly qualifies: boolean;
  readonly incidentIds: readonly string[];
  /** The part of the run inside the month. */
  readonly inMonthMs: number;
  /** Whole hours of the in-month part that are compensable (0 unless the run qualifies). */
  readonly compensableHours: number;
  /** JST date `YYYY-MM-DD`: last day to claim; null while open. */
  readonly claimDeadline: string | null;
}

export interface SlaMonth {
  readonly month: Month;
  readonly monthlyFeeYen: number;
  readonly periodMs: number;
  /** Complete, attributable unavailability inside the month (all runs, qualifying or not). */
  readonly unavailableMs: number;
  /** 1 − unavailable ÷ month length. */
  readonly availability: number;
  readonly runs: readonly SlaRun[];
  readonly compensableHours: number;
  /** Integer yen: `floor(fee × hours / 720)`. */
  readonly compensationCeilingYen: number;
  /** The latest claim deadline of the qualifying runs; null when none (or still open). */
  readonly claimDeadline: string | null;
}

/** Merges counted intervals `[max(start, detectedAt), end ?? now)` of full, attributable periods. */
export function unavailabilityRuns(periods: readonly UnavailabilityPeriod[], now: number): { from: number; to: number; open: boolean; incidentIds: string[] }[] {
  const iv = periods
    .filter((p) => p.scope === 'full' && p.attributable)
    .map((p) => ({ from: Math.max(p.start, p.detectedAt), to: p.end ?? now, open: p.end === null, id: p.incidentId }))
    .filter((p) => p.to > p.from)
    .sort((a, b) => a.from - b.from);
  const runs: { from: number; to: number; open: boolean; incidentIds: string[] }[] = [];
  for (const p of iv) {
    const last = runs[runs.length - 1];
    if (last !== undefined && p.from <= last.to) {
      if (p.to > last.to || (p.to === last.to && p.open)) {
        last.to = p.to;
        last.open = p.open;
      }
      last.incidentIds.push(p.id);
    } else runs.push({ from: p.from, to: p.to, open: p.open, incidentIds: [p.id] });
  }
  return runs;
}

/** The JST date `months` calendar months after the JST date of `epochMs`, clamped to the month's last day. */
export function jstDatePlusMonths(epochMs: number, months: number): string {
  const d = new Date(epochMs + JST_OFFSET_MS);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth() + months;
  const lastDay = new Date(Date.UTC(y, m + 1, 0)).getUTCDate();
  return jstDateOf(Date.UTC(y, m, Math.min(d.getUTCDate(), lastDay)) - JST_OFFSET_MS);
}

/** Article 33 evidence for one tenant and month. `monthlyFeeYen` must be a whole number of yen. */
export function slaForMonth(month: Month, monthlyFeeYen: number, periods: readonly UnavailabilityPeriod[], now: number): SlaMonth {
  if (!Number.isSafeInteger(monthlyFeeYen) || monthlyFeeYen < 0) throw new RangeError(`monthly fee must be whole yen ≥ 0: ${monthlyFeeYen}`);
  const start = jstMonthStartMs(month);
  const end = jstMonthEndMs(month);
  const runs: SlaRun[] = [];
  let unavailableMs = 0;
  let hours = 0;
  let deadline: string | null = null;
  for (const r of unavailabilityRuns(periods, now)) {
    const inMonthMs = Math.max(0, Math.min(r.to, end) - Math.max(r.from, start));
    if (inMonthMs === 0) continue;
    const durationMs = r.to - r.from;
    const qualifies = durationMs >= ARTICLE33_THRESHOLD_MS;
    const compensableHours = qualifies ? Math.floor(inMonthMs / HOUR_MS) : 0;
    const claimDeadline = r.open ? null : jstDatePlusMonths(r.to, ARTICLE33_CLAIM_MONTHS);
    unavailableMs += inMonthMs;
    hours += compensableHours;
    if (qualifies && claimDeadline !== null && (deadline === null || claimDeadline > deadline)) deadline = claimDeadline;
    runs.push({ from: r.from, to: r.to, open: r.open, durationMs, qualifies, incidentIds: r.incidentIds, inMonthMs, compensableHours, claimDeadline });
  }
  const periodMs = end - start;
  return {
    month,
    monthlyFeeYen,
    periodMs,
    unavailableMs,
    availability: 1 - unavailableMs / periodMs,
    runs,
    compensableHours: hours,
    compensationCeilingYen: compensationCeilingYen(monthlyFeeYen, hours),
    claimDeadline: deadline,
  };
}

/** `floor(fee × hours / (30 × 24))` in integer arithmetic (BigInt: no precision loss for any fee). */
export function compensationCeilingYen(monthlyFeeYen: number, hours: number): number {
  if (hours <= 0 || monthlyFeeYen <= 0) return 0;
  return Number((BigInt(monthlyFeeYen) * BigInt(hours)) / BigInt(ARTICLE33_DAYS_PER_MONTH * 24));
}
