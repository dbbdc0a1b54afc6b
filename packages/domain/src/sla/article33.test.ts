import { describe, expect, it } from 'vitest';
import { jstMonthStartMs } from '../rating/month.js';
import { ARTICLE33_THRESHOLD_MS, compensationCeilingYen, jstDatePlusMonths, slaForMonth, unavailabilityRuns, type UnavailabilityPeriod } from './article33.js';

const H = 3_600_000;
const NOV = jstMonthStartMs('2026-11'); // 2026-11-01 00:00 JST
const DEC = jstMonthStartMs('2026-12');
const p = (id: string, start: number, hours: number | null, extra: Partial<UnavailabilityPeriod> = {}): UnavailabilityPeriod => ({
  incidentId: id,
  start,
  detectedAt: start,
  end: hours === null ? null : start + hours * H,
  scope: 'full',
  attributable: true,
  ...extra,
});
const NOW = DEC + 40 * 24 * H;

describe('Article 33: the 48 hour boundary', () => {
  it.each([
    ['47h59m59.999s', ARTICLE33_THRESHOLD_MS - 1, false],
    ['exactly 48h', ARTICLE33_THRESHOLD_MS, true],
    ['48h and 1 ms', ARTICLE33_THRESHOLD_MS + 1, true],
  ])('%s → qualifies %s', (_label, ms, qualifies) => {
    const s = slaForMonth('2026-11', 30_000, [{ ...p('i1', NOV + 24 * H, null), end: NOV + 24 * H + ms }], NOW);
    expect(s.runs[0]?.qualifies).toBe(qualifies);
    expect(s.compensableHours).toBe(qualifies ? 48 : 0);
  });

  it('counts from detection, not from the fault start', () => {
    // Fault began 50 h before it ended but was detected only 47 h before: does not qualify.
    const s = slaForMonth('2026-11', 30_000, [p('i1', NOV, 50, { detectedAt: NOV + 3 * H })], NOW);
    expect(s.runs[0]).toMatchObject({ from: NOV + 3 * H, durationMs: 47 * H, qualifies: false });
    expect(s.unavailableMs).toBe(47 * H);
  });

  it('overlapping incidents merge into one run; partial and non-attributable periods do not count', () => {
    const s = slaForMonth(
      '2026-11',
      30_000,
      [
        p('a', NOV, 30),
        p('b', NOV + 20 * H, 30), // overlaps a → run of 50 h
        p('c', NOV + 100 * H, 60, { scope: 'partial' }),
        p('d', NOV + 200 * H, 60, { attributable: false }),
      ],
      NOW,
    );
    expect(s.runs).toHaveLength(1);
    expect(s.runs[0]).toMatchObject({ durationMs: 50 * H, qualifies: true, incidentIds: ['a', 'b'], compensableHours: 50 });
  });

  it('two separate 30 h runs are not added together', () => {
    const s = slaForMonth('2026-11', 30_000, [p('a', NOV, 30), p('b', NOV + 31 * H, 30)], NOW);
    expect(s.runs.map((r) => r.qualifies)).toEqual([false, false]);
    expect(s.compensationCeilingYen).toBe(0);
    expect(s.unavailableMs).toBe(60 * H);
  });
});

describe('Article 33: Asia/Tokyo month boundaries', () => {
  // A run from 30 Nov 00:00 JST for 72 h: 48 h in November, 24 h in December; the run qualifies in both.
  const run = [p('x', DEC - 48 * H, 72)];
  it.each([
    ['2026-11', 48, 48 * H],
    ['2026-12', 24, 24 * H],
    ['2026-10', 0, 0],
  ])('%s gets %i compensable hours', (month, hours, inMonth) => {
    const s = slaForMonth(month, 72_000, run, NOW);
    expect(s.compensableHours).toBe(hours);
    expect(s.unavailableMs).toBe(inMonth);
  });

  it('the month starts at 00:00 JST (15:00 UTC the day before)', () => {
    expect(NOV).toBe(Date.UTC(2026, 9, 31, 15, 0, 0));
    // One ms before the JST month: not November.
    const s = slaForMonth('2026-11', 30_000, [{ ...p('y', NOV - 2 * H, null), end: NOV }], NOW);
    expect(s.runs).toHaveLength(0);
    expect(s.availability).toBe(1);
  });

  it('availability over the month length', () => {
    const s = slaForMonth('2026-11', 30_000, [p('a', NOV, 7.2)], NOW); // 7.2 h of 720 h
    expect(s.availability).toBeCloseTo(0.99, 12);
  });

  it('an open run counts until now and has no claim deadline yet', () => {
    const now = NOV + 60 * H;
    const s = slaForMonth('2026-11', 30_000, [p('o', NOV + 10 * H, null)], now);
    expect(s.runs[0]).toMatchObject({ open: true, durationMs: 50 * H, qualifies: true, claimDeadline: null });
    expect(s.claimDeadline).toBeNull();
  });
});

describe('Article 33: the 30-day rule and rounding', () => {
  it.each([
    // fee, hours, ceiling: floor(fee × hours / 720)
    [30_000, 48, 2_000], // 1,000 yen a day × 2 days
    [30_000, 50, 2_083], // 2,083.33 → 2,083
    [31_000, 49, 2_109], // 31,000 × 49 / 720 = 2,109.72 → 2,109 (no rounding up)
    [10_000, 720, 10_000], // a whole 30-day month = the monthly fee
    [10_000, 744, 10_333], // 31 days × 24 h exceed the fee: the 30-day rule makes a day fee/30
    [1, 48, 0],
    [0, 100, 0],
    [9_007_199_254_740_991, 720, 9_007_199_254_740_991],
  ])('fee %i yen, %i h → %i yen', (fee, hours, yen) => {
    expect(compensationCeilingYen(fee, hours)).toBe(yen);
  });

  it('truncates each run to whole hours before pricing', () => {
    const s = slaForMonth('2026-11', 72_000, [p('a', NOV, 48.99)], NOW);
    expect(s.compensableHours).toBe(48);
    expect(s.compensationCeilingYen).toBe(4_800);
  });

  it('refuses a fee that is not whole yen', () => {
    expect(() => slaForMonth('2026-11', 10.5, [], NOW)).toThrow(RangeError);
  });
});

describe('Article 33: claim deadline (3 months, JST dates)', () => {
  it.each([
    [Date.UTC(2026, 10, 10, 3, 0), '2027-02-10'], // 10 Nov 12:00 JST
    [Date.UTC(2026, 10, 30, 14, 0), '2027-02-28'], // 30 Nov 23:00 JST → 28 Feb (no 30 Feb)
    [Date.UTC(2026, 10, 30, 15, 0), '2027-03-01'], // 1 Dec 00:00 JST
    [Date.UTC(2027, 10, 30, 3, 0), '2028-02-29'], // leap year
  ])('run ended %i → claim by %s', (end, date) => {
    expect(jstDatePlusMonths(end, 3)).toBe(date);
  });

  it('the month report shows the latest deadline of its qualifying runs', () => {
    const s = slaForMonth('2026-11', 30_000, [p('a', NOV, 50), p('b', NOV + 100 * H, 50)], NOW);
    expect(s.claimDeadline).toBe(jstDatePlusMonths(NOV + 150 * H, 3));
  });
});

describe('unavailabilityRuns', () => {
  it('touching periods merge', () => {
    expect(unavailabilityRuns([p('a', 0, 1), p('b', H, 1)], NOW)).toEqual([{ from: 0, to: 2 * H, open: false, incidentIds: ['a', 'b'] }]);
  });
});
