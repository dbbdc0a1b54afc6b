/**
 * Monthly totals and the monthly report (課金データ集計).
 *
 * Totals are kept as flat counters `<dimension>|<value>|<metric>` (what the store's charge
 * script increments), one set per report section: `main` (calls of the month) and `adj`
 * (late calls of an earlier, already closed month). Metrics: `n` calls, `a` answered calls,
 * `s` billable seconds of answered calls, `c` charge in 1/100 JPY. `tax|<bp>|c` is the charge
 * subtotal per consumption-tax rate.
 *
 * Tax rule (documented in docs/billing.md): per tax rate, the month's charge subtotal (main +
 * adjustments, 1/100 JPY) is truncated to whole yen, then tax = floor(subtotal_yen × rate),
 * i.e. fractions of a yen are dropped (1円未満切り捨て) at both steps.
 */
import type { CallCharge } from './rate.js';
import type { Month } from './month.js';

export type Section = 'main' | 'adj';
export type Dimension = 'all' | 'class' | 'ext' | 'dept' | 'trunk';

const enc = (v: string): string => encodeURIComponent(v);

/** The counters one rated call adds (without the section prefix). */
export function totalsIncrements(c: CallCharge): [string, number][] {
  const out: [string, number][] = [];
  const add = (dim: Dimension, value: string): void => {
    const b = `${dim}|${enc(value)}|`;
    out.push([`${b}n`, 1]);
    if (c.answered) {
      out.push([`${b}a`, 1]);
      if (c.billableSeconds > 0) out.push([`${b}s`, c.billableSeconds]);
    }
    if (c.charge > 0) out.push([`${b}c`, c.charge]);
  };
  add('all', '');
  add('class', c.cls);
  if (c.extension !== null) add('ext', c.extension);
  if (c.department !== null) add('dept', c.department);
  if (c.trunkId !== null) add('trunk', c.trunkId);
  if (c.charge > 0) out.push([`tax|${c.taxBp}|c`, c.charge]);
  return out;
}

export interface TotalsRow {
  readonly key: string;
  readonly calls: number;
  readonly answered: number;
  readonly seconds: number;
  /** 1/100 JPY */
  readonly charge: number;
}

export interface SectionTotals extends Omit<TotalsRow, 'key'> {
  readonly byClass: readonly TotalsRow[];
  readonly byExtension: readonly TotalsRow[];
  readonly byDepartment: readonly TotalsRow[];
  readonly byTrunk: readonly TotalsRow[];
}

export interface TaxLine {
  readonly rateBp: number;
  /** Exact charge subtotal at this rate, 1/100 JPY. */
  readonly subtotal: number;
  readonly subtotalYen: number;
  readonly taxYen: number;
}

export interface MonthlyReport {
  readonly tenantId: string;
  readonly month: Month;
  readonly status: 'open' | 'closed';
  readonly closedAt: number | null;
  /** Bumped by each audited re-rating. */
  readonly revision: number;
  readonly minorUnit: '0.01 JPY';
  readonly main: SectionTotals;
  readonly adjustments: SectionTotals;
  readonly tax: readonly TaxLine[];
  readonly subtotalYen: number;
  readonly taxYen: number;
  readonly totalYen: number;
}

type Acc = Map<string, { calls: number; answered: number; seconds: number; charge: number }>;
const METRIC: Record<string, 'calls' | 'answered' | 'seconds' | 'charge'> = { n: 'calls', a: 'answered', s: 'seconds', c: 'charge' };

function emptyAcc(): Record<Dimension, Acc> {
  return { all: new Map(), class: new Map(), ext: new Map(), dept: new Map(), trunk: new Map() };
}

function rows(acc: Acc): TotalsRow[] {
  return [...acc.entries()].map(([key, v]) => ({ key, ...v })).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

function section(acc: Record<Dimension, Acc>): SectionTotals {
  const all = acc.all.get('') ?? { calls: 0, answered: 0, seconds: 0, charge: 0 };
  return {
    ...all,
    byClass: rows(acc.class),
    byExtension: rows(acc.ext),
    byDepartment: rows(acc.dept),
    byTrunk: rows(acc.trunk),
  };
}

/** Applies the tax rule to per-rate subtotals. */
export function taxLines(subtotals: ReadonlyMap<number, number>): TaxLine[] {
  return [...subtotals.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([rateBp, subtotal]) => {
      const subtotalYen = Math.floor(subtotal / 100);
      return { rateBp, subtotal, subtotalYen, taxYen: Math.floor((subtotalYen * rateBp) / 10000) };
    });
}

/** Builds the report from the stored counters (`<section>|<dim>|<value>|<metric>` → integer string). */
export function buildMonthlyReport(args: {
  tenantId: string;
  month: Month;
  fields: Readonly<Record<string, string>>;
  status: 'open' | 'closed';
  closedAt?: number | null;
  revision?: number;
}): MonthlyReport {
  const acc: Record<Section, Record<Dimension, Acc>> = { main: emptyAcc(), adj: emptyAcc() };
  const bySubtotal = new Map<number, number>();
  for (const [field, raw] of Object.entries(args.fields)) {
    const parts = field.split('|');
    if (parts.length !== 4) continue;
    const [sec, dim, value, metric] = parts as [string, string, string, string];
    const n = Number(raw);
    if (!Number.isSafeInteger(n)) continue;
    if (dim === 'tax' && metric === 'c') {
      const bp = Number(value);
      bySubtotal.set(bp, (bySubtotal.get(bp) ?? 0) + n);
      continue;
    }
    const s = acc[sec as Section] as Record<Dimension, Acc> | undefined;
    const m = METRIC[metric];
    const d = s?.[dim as Dimension];
    if (!d || !m) continue;
    const key = decodeURIComponent(value);
    const row = d.get(key) ?? { calls: 0, answered: 0, seconds: 0, charge: 0 };
    row[m] += n;
    d.set(key, row);
  }
  const tax = taxLines(bySubtotal);
  const subtotalYen = tax.reduce((s, t) => s + t.subtotalYen, 0);
  const taxYen = tax.reduce((s, t) => s + t.taxYen, 0);
  return {
    tenantId: args.tenantId,
    month: args.month,
    status: args.status,
    closedAt: args.closedAt ?? null,
    revision: args.revision ?? 0,
    minorUnit: '0.01 JPY',
    main: section(acc.main),
    adjustments: section(acc.adj),
    tax,
    subtotalYen,
    taxYen,
    totalYen: subtotalYen + taxYen,
  };
}

/** Sums counters the way the store does, from a list of rated calls (the independent recomputation used by tests and the month-close check). */
export function sumTotals(calls: Iterable<{ charge: CallCharge; section: Section }>): Record<string, string> {
  const m = new Map<string, number>();
  for (const { charge, section: s } of calls) {
    for (const [f, n] of totalsIncrements(charge)) m.set(`${s}|${f}`, (m.get(`${s}|${f}`) ?? 0) + n);
  }
  return Object.fromEntries([...m.entries()].map(([k, v]) => [k, String(v)]));
}

// ---- CSV --------------------------------------------------------------------

/** 1/100 JPY → "123.45" (exact, no floats). */
export function formatYen(minor: number): string {
  const sign = minor < 0 ? '-' : '';
  const a = Math.abs(minor);
  return `${sign}${Math.floor(a / 100)}.${String(a % 100).padStart(2, '0')}`;
}

export function csvCell(v: string | number | boolean | null): string {
  if (v === null) return '';
  const s = String(v);
  // Quote when needed; neutralise spreadsheet formulas in free text.
  const safe = /^[=+\-@\t\r]/.test(s) && typeof v === 'string' ? `'${s}` : s;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

const line = (cells: readonly (string | number | boolean | null)[]): string => cells.map(csvCell).join(',');

/** One flat row of a report: what CSV exports list. Money in yen strings (`formatYen`) or whole yen. */
export interface ReportRow {
  readonly section: 'main' | 'adjustments' | 'tax' | 'summary';
  readonly dimension: string;
  readonly key: string;
  readonly calls: number | null;
  readonly answered: number | null;
  readonly seconds: number | null;
  /** Yen: `123.45` for charges, whole yen for tax and summary lines. */
  readonly amountJpy: string;
}

export function reportRows(r: MonthlyReport): ReportRow[] {
  const out: ReportRow[] = [];
  for (const [name, s] of [['main', r.main], ['adjustments', r.adjustments]] as const) {
    out.push({ section: name, dimension: 'total', key: '', calls: s.calls, answered: s.answered, seconds: s.seconds, amountJpy: formatYen(s.charge) });
    for (const [dim, rs] of [['class', s.byClass], ['extension', s.byExtension], ['department', s.byDepartment], ['trunk', s.byTrunk]] as const) {
      for (const x of rs) out.push({ section: name, dimension: dim, key: x.key, calls: x.calls, answered: x.answered, seconds: x.seconds, amountJpy: formatYen(x.charge) });
    }
  }
  const none = { calls: null, answered: null, seconds: null };
  for (const t of r.tax) {
    out.push({ section: 'tax', dimension: `rate_${t.rateBp / 100}%`, key: 'subtotal_jpy', ...none, amountJpy: String(t.subtotalYen) });
    out.push({ section: 'tax', dimension: `rate_${t.rateBp / 100}%`, key: 'tax_jpy', ...none, amountJpy: String(t.taxYen) });
  }
  out.push({ section: 'summary', dimension: '', key: 'subtotal_jpy', ...none, amountJpy: String(r.subtotalYen) });
  out.push({ section: 'summary', dimension: '', key: 'tax_jpy', ...none, amountJpy: String(r.taxYen) });
  out.push({ section: 'summary', dimension: '', key: 'total_jpy', ...none, amountJpy: String(r.totalYen) });
  return out;
}

export function reportToCsv(r: MonthlyReport): string {
  const out = [line(['section', 'dimension', 'key', 'calls', 'answered', 'billable_seconds', 'amount_jpy'])];
  for (const x of reportRows(r)) out.push(line([x.section, x.dimension, x.key, x.calls, x.answered, x.seconds, x.amountJpy]));
  return `${out.join('\r\n')}\r\n`;
}

export const CALL_CSV_HEADER = [
  'cdr_id', 'section', 'started_at_jst', 'direction', 'disposition', 'callee', 'extension', 'department', 'trunk',
  'class', 'rate', 'billable_seconds', 'units', 'charge_jpy', 'tax_rate_percent',
] as const;

/** ISO-like JST timestamp without Intl: `2026-11-25 09:00:00`. */
export function formatJst(epochMs: number): string {
  return new Date(epochMs + 9 * 3600 * 1000).toISOString().slice(0, 19).replace('T', ' ');
}

export function callsToCsv(calls: readonly { charge: CallCharge; section: Section }[], header = true): string {
  const out = header ? [line(CALL_CSV_HEADER)] : [];
  for (const { charge: c, section: s } of calls) {
    out.push(
      line([
        c.cdrId, s === 'main' ? 'main' : 'adjustment', formatJst(c.startedAt), c.direction, c.disposition,
        c.calleeE164 ?? c.calleeDialled, c.extension, c.department, c.trunkId, c.cls, c.rateKey,
        c.billableSeconds, c.units, formatYen(c.charge), c.taxBp / 100,
      ]),
    );
  }
  return out.length ? `${out.join('\r\n')}\r\n` : '';
}
