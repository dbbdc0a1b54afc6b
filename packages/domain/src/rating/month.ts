/**
 * Asia/Tokyo calendar months without Intl or a timezone library: Japan has had no daylight
 * saving time since 1951, so JST is exactly UTC+9 and a month bucket is plain arithmetic.
 * Months are written `YYYY-MM`.
 */
export const JST_OFFSET_MS = 9 * 3600 * 1000;

export type Month = string;

const pad2 = (n: number): string => String(n).padStart(2, '0');

// Rating asks for the month and date of every call: memoise per JST day (a pure cache, bounded).
const dayCache = new Map<number, string>();

/** The JST calendar date `YYYY-MM-DD` of an instant. */
export function jstDateOf(epochMs: number): string {
  const day = Math.floor((epochMs + JST_OFFSET_MS) / 86_400_000);
  let s = dayCache.get(day);
  if (s === undefined) {
    const d = new Date(day * 86_400_000);
    s = `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())}`;
    if (dayCache.size > 4096) dayCache.clear();
    dayCache.set(day, s);
  }
  return s;
}

/** The JST calendar month an instant (epoch ms) falls in. */
export function jstMonthOf(epochMs: number): Month {
  return jstDateOf(epochMs).slice(0, 7);
}

export function isMonth(s: string): boolean {
  return /^\d{4}-(0[1-9]|1[0-2])$/.test(s);
}

function parseMonth(m: Month): { y: number; mo: number } {
  if (!isMonth(m)) throw new RangeError(`not a month (YYYY-MM): ${m}`);
  return { y: Number(m.slice(0, 4)), mo: Number(m.slice(5, 7)) };
}

export function addMonths(m: Month, n: number): Month {
  const { y, mo } = parseMonth(m);
  const idx = y * 12 + (mo - 1) + n;
  return `${Math.floor(idx / 12)}-${pad2((idx % 12) + 1)}`;
}

export const nextMonth = (m: Month): Month => addMonths(m, 1);

/** First instant (epoch ms) of the JST month: 00:00 JST on the 1st = 15:00 UTC the day before. */
export function jstMonthStartMs(m: Month): number {
  const { y, mo } = parseMonth(m);
  return Date.UTC(y, mo - 1, 1) - JST_OFFSET_MS;
}

/** First instant after the JST month. */
export function jstMonthEndMs(m: Month): number {
  return jstMonthStartMs(nextMonth(m));
}

/** When a month freezes: the end of the month plus the grace period for late CDRs. */
export function monthCloseAtMs(m: Month, graceMs: number): number {
  return jstMonthEndMs(m) + graceMs;
}
