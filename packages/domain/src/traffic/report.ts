/**
 * The traffic report (トラフィックレポート): offered, carried and blocked calls, traffic in erlangs,
 * the busy hour (最繁時), blocking against the capacity, and an Erlang-B sizing recommendation,
 * per hour and per day, for the tenant as a whole, each trunk and each ring group.
 *
 * Pure and streaming: `TrafficAccumulator.add` takes one call at a time (a month of a large tenant
 * is millions of calls) into fixed per-hour arrays; `report()` derives everything else.
 * Hours are JST hours; JST is UTC+9 with no daylight saving, so an hour bucket is `floor(ms / 3600000)`.
 */
import { JST_OFFSET_MS, jstDateOf } from '../rating/month.js';
import { blockingRate, busiestIndex, channelsForBlocking, erlangB, timeConsistentBusyHour } from './erlang.js';

const HOUR_MS = 3_600_000;

/** Rejection reasons that mean "no capacity" (the call was blocked, in teletraffic terms). */
export const CAPACITY_REJECTIONS = { 'port-limit': 'ports', 'trunk-channels': 'trunk' } as const;
export type BlockedBy = 'ports' | 'trunk';

/** What the report needs from one call (a CDR or billing's stored per-call detail). */
export interface TrafficCall {
  readonly startedAt: number;
  /** End of the call: the port is held from start to end (ringing included). */
  readonly endedAt: number;
  /** Set when the call was refused for lack of ports or trunk channels. */
  readonly blockedBy: BlockedBy | null;
  readonly trunkId: string | null;
  readonly group: string | null;
}

/** Maps a CDR-like record to a traffic call. `endedAt` falls back to start + billable seconds (older stored calls). */
export function trafficCallOf(c: {
  readonly startedAt: number;
  readonly endedAt?: number | null;
  readonly billableSeconds: number;
  readonly rejectionReason?: string | null;
  readonly trunkId: string | null;
  readonly group?: string | null;
}): TrafficCall {
  const r = c.rejectionReason ?? null;
  const blockedBy = r !== null && Object.hasOwn(CAPACITY_REJECTIONS, r) ? CAPACITY_REJECTIONS[r as keyof typeof CAPACITY_REJECTIONS] : null;
  return {
    startedAt: c.startedAt,
    endedAt: Math.max(c.startedAt, c.endedAt ?? c.startedAt + c.billableSeconds * 1000),
    blockedBy,
    trunkId: c.trunkId,
    group: c.group ?? null,
  };
}

export type TrafficDimension = 'tenant' | 'trunk' | 'group';

export interface TrafficCounts {
  /** Calls that arrived (started) in the period. */
  readonly offered: number;
  /** Offered calls that seized capacity (everything not blocked). */
  readonly carried: number;
  /** Offered calls refused for lack of capacity. */
  readonly blocked: number;
  readonly blockingRate: number;
  /** Carried traffic: holding time in the period ÷ the period. */
  readonly erlangs: number;
}

export interface TrafficHour extends TrafficCounts {
  /** Start of the hour, ISO 8601 in JST (`2026-11-10T09:00+09:00`). */
  readonly hour: string;
}

export interface TrafficDay extends TrafficCounts {
  /** JST date `YYYY-MM-DD`. */
  readonly date: string;
  /** The day's busy hour (hour of day, JST) and its carried traffic. */
  readonly busyHour: { readonly hour: number; readonly erlangs: number };
}

export interface TrafficSizing {
  /** Grade of service the recommendation is for (0.01 = 1 % blocking). */
  readonly target: number;
  /** Offered traffic in the busy hour: carried erlangs + blocked calls × mean holding time. */
  readonly busyHourOfferedErlangs: number;
  /** Channels the capacity provides (ports, trunk channels, ring-group members); null when unlimited/unknown. */
  readonly capacity: number | null;
  /** Erlang-B blocking the busy-hour traffic would see on that capacity. */
  readonly predictedBlocking: number | null;
  /** Fewest channels for `target` blocking at the busy-hour offered traffic. */
  readonly recommendedChannels: number;
}

export interface TrafficSeries {
  readonly dimension: TrafficDimension;
  /** Tenant id, trunk id or ring-group number. */
  readonly key: string;
  readonly totals: TrafficCounts & { readonly meanHoldingSeconds: number };
  /** Blocked calls split by what ran out (the tenant series sees both). */
  readonly blockedBy: { readonly ports: number; readonly trunk: number };
  /** The peak hour of the whole period. */
  readonly busyHour: TrafficHour | null;
  /** The hour of day whose traffic averaged over the days is largest (ITU-T E.500). */
  readonly timeConsistentBusyHour: { readonly hour: number; readonly erlangs: number } | null;
  readonly sizing: TrafficSizing;
  readonly days: readonly TrafficDay[];
  readonly hours: readonly TrafficHour[];
}

export interface TrafficReport {
  readonly from: number;
  readonly to: number;
  readonly calls: number;
  readonly tenant: TrafficSeries;
  readonly trunks: readonly TrafficSeries[];
  readonly groups: readonly TrafficSeries[];
}

export interface TrafficCapacity {
  readonly ports: number | null;
  /** Trunk id → channel limit (0 or absent: unlimited). */
  readonly trunks?: Readonly<Record<string, number>>;
  /** Ring group number → member count. */
  readonly groups?: Readonly<Record<string, number>>;
}

/** Mean holding time assumed for blocked calls when nothing was carried (3 minutes, the usual planning figure). */
export const DEFAULT_HOLDING_SECONDS = 180;

class Series {
  readonly holdMs: Float64Array;
  readonly offered: Uint32Array;
  readonly blocked: Uint32Array;
  blockedPorts = 0;
  blockedTrunk = 0;
  carriedHoldMs = 0;
  carriedCalls = 0;
  constructor(hours: number) {
    this.holdMs = new Float64Array(hours);
    this.offered = new Uint32Array(hours);
    this.blocked = new Uint32Array(hours);
  }
}

export class TrafficAccumulator {
  private readonly firstHour: number;
  private readonly hours: number;
  private readonly tenant: Series;
  private readonly trunks = new Map<string, Series>();
  private readonly groups = new Map<string, Series>();
  private count = 0;

  /** `from`/`to` are epoch ms; both are rounded out to whole hours. */
  constructor(
    readonly from: number,
    readonly to: number,
    private readonly tenantId: string,
  ) {
    if (!(to > from)) throw new RangeError('traffic period must end after it starts');
    this.firstHour = Math.floor(from / HOUR_MS);
    this.hours = Math.ceil(to / HOUR_MS) - this.firstHour;
    if (this.hours > 24 * 400) throw new RangeError('traffic period longer than 400 days');
    this.tenant = new Series(this.hours);
  }

  add(call: TrafficCall): void {
    this.count++;
    this.addTo(this.tenant, call);
    if (call.trunkId !== null) this.addTo(this.series(this.trunks, call.trunkId), call);
    if (call.group !== null) this.addTo(this.series(this.groups, call.group), call);
  }

  private series(m: Map<string, Series>, key: string): Series {
    let s = m.get(key);
    if (s === undefined) {
      s = new Series(this.hours);
      m.set(key, s);
    }
    return s;
  }

  private addTo(s: Series, c: TrafficCall): void {
    const startHour = Math.floor(c.startedAt / HOUR_MS) - this.firstHour;
    if (startHour >= 0 && startHour < this.hours) {
      s.offered[startHour] = (s.offered[startHour] as number) + 1;
      if (c.blockedBy !== null) {
        s.blocked[startHour] = (s.blocked[startHour] as number) + 1;
        if (c.blockedBy === 'ports') s.blockedPorts++;
        else s.blockedTrunk++;
      }
    }
    if (c.blockedBy !== null) return;
    const start = Math.max(c.startedAt, this.firstHour * HOUR_MS);
    const end = Math.min(c.endedAt, (this.firstHour + this.hours) * HOUR_MS);
    if (startHour >= 0 && startHour < this.hours) {
      s.carriedCalls++;
      s.carriedHoldMs += c.endedAt - c.startedAt;
    }
    // Spread the holding time over the hours the call spans (most calls: one hour).
    let t = start;
    while (t < end) {
      const h = Math.floor(t / HOUR_MS);
      const next = Math.min(end, (h + 1) * HOUR_MS);
      const i = h - this.firstHour;
      s.holdMs[i] = (s.holdMs[i] as number) + (next - t);
      t = next;
    }
  }

  report(capacity: TrafficCapacity, target = 0.01): TrafficReport {
    const cap = (v: number | undefined | null): number | null => (v === undefined || v === null || v <= 0 ? null : v);
    const build = (dim: TrafficDimension, m: Map<string, Series>, caps: Readonly<Record<string, number>> | undefined): TrafficSeries[] =>
      [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, s]) => this.seriesReport(dim, k, s, cap(caps?.[k]), target));
    return {
      from: this.firstHour * HOUR_MS,
      to: (this.firstHour + this.hours) * HOUR_MS,
      calls: this.count,
      tenant: this.seriesReport('tenant', this.tenantId, this.tenant, cap(capacity.ports), target),
      trunks: build('trunk', this.trunks, capacity.trunks),
      groups: build('group', this.groups, capacity.groups),
    };
  }

  private seriesReport(dimension: TrafficDimension, key: string, s: Series, capacity: number | null, target: number): TrafficSeries {
    const counts = (offered: number, blocked: number, holdMs: number, periodMs: number): TrafficCounts => ({
      offered,
      carried: offered - blocked,
      blocked,
      blockingRate: blockingRate(offered, blocked),
      erlangs: holdMs / periodMs,
    });
    const hours: TrafficHour[] = [];
    const erl: number[] = [];
    for (let i = 0; i < this.hours; i++) {
      const at = (this.firstHour + i) * HOUR_MS;
      const c = counts(s.offered[i] as number, s.blocked[i] as number, s.holdMs[i] as number, HOUR_MS);
      hours.push({ hour: jstHourIso(at), ...c });
      erl.push(c.erlangs);
    }
    // Days: group hours by JST date.
    const days: TrafficDay[] = [];
    const byHourOfDay: number[][] = [];
    let i = 0;
    while (i < this.hours) {
      const date = jstDateOf((this.firstHour + i) * HOUR_MS);
      let offered = 0;
      let blocked = 0;
      let hold = 0;
      let n = 0;
      const dayErl = new Array<number>(24).fill(0);
      let best = { hour: 0, erlangs: -1 };
      for (; i < this.hours && jstDateOf((this.firstHour + i) * HOUR_MS) === date; i++, n++) {
        offered += s.offered[i] as number;
        blocked += s.blocked[i] as number;
        hold += s.holdMs[i] as number;
        const hod = jstHourOfDay((this.firstHour + i) * HOUR_MS);
        dayErl[hod] = erl[i] as number;
        if ((erl[i] as number) > best.erlangs) best = { hour: hod, erlangs: erl[i] as number };
      }
      byHourOfDay.push(dayErl);
      days.push({ date, ...counts(offered, blocked, hold, n * HOUR_MS), busyHour: best });
    }
    let offered = 0;
    let blocked = 0;
    let hold = 0;
    for (let j = 0; j < this.hours; j++) {
      offered += s.offered[j] as number;
      blocked += s.blocked[j] as number;
      hold += s.holdMs[j] as number;
    }
    const meanHoldingSeconds = s.carriedCalls > 0 ? s.carriedHoldMs / s.carriedCalls / 1000 : 0;
    const peak = busiestIndex(erl);
    const busyHour = peak < 0 ? null : (hours[peak] as TrafficHour);
    const assumedHold = meanHoldingSeconds > 0 ? meanHoldingSeconds : DEFAULT_HOLDING_SECONDS;
    const busyHourOfferedErlangs = busyHour === null ? 0 : busyHour.erlangs + (busyHour.blocked * assumedHold) / 3600;
    return {
      dimension,
      key,
      totals: { ...counts(offered, blocked, hold, this.hours * HOUR_MS), meanHoldingSeconds },
      blockedBy: { ports: s.blockedPorts, trunk: s.blockedTrunk },
      busyHour,
      timeConsistentBusyHour: timeConsistentBusyHour(byHourOfDay),
      sizing: {
        target,
        busyHourOfferedErlangs,
        capacity,
        predictedBlocking: capacity === null ? null : erlangB(busyHourOfferedErlangs, capacity),
        recommendedChannels: channelsForBlocking(busyHourOfferedErlangs, target),
      },
      days,
      hours,
    };
  }
}

const pad2 = (n: number): string => String(n).padStart(2, '0');

/** Hour of day (0–23) in JST. */
export function jstHourOfDay(epochMs: number): number {
  return Math.floor((epochMs + JST_OFFSET_MS) / HOUR_MS) % 24;
}

/** `YYYY-MM-DDTHH:00+09:00` for the JST hour containing the instant. */
export function jstHourIso(epochMs: number): string {
  return `${jstDateOf(epochMs)}T${pad2(jstHourOfDay(epochMs))}:00+09:00`;
}

/** Convenience: the whole report in one call (tests, small inputs). */
export function trafficReport(
  tenantId: string,
  from: number,
  to: number,
  calls: Iterable<TrafficCall>,
  capacity: TrafficCapacity,
  target = 0.01,
): TrafficReport {
  const acc = new TrafficAccumulator(from, to, tenantId);
  for (const c of calls) acc.add(c);
  return acc.report(capacity, target);
}

/** The report as CSV rows: one per (dimension, key, hour) plus one per (dimension, key, day). */
export function trafficReportToCsv(r: TrafficReport, lang: 'en' | 'ja' = 'en'): string {
  const head =
    lang === 'ja'
      ? ['区分', '対象', '期間種別', '期間', '呼数', '完了呼数', '呼損数', '呼損率', 'トラフィック(アーラン)']
      : ['dimension', 'key', 'granularity', 'period', 'offered', 'carried', 'blocked', 'blocking_rate', 'erlangs'];
  const dimName = (d: TrafficDimension): string => (lang === 'ja' ? { tenant: 'テナント', trunk: '局線', group: '着信グループ' }[d] : d);
  const rows: string[] = [head.join(',')];
  const esc = (v: string): string => (/[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
  for (const s of [r.tenant, ...r.trunks, ...r.groups]) {
    const line = (gran: string, period: string, c: TrafficCounts): void => {
      rows.push([dimName(s.dimension), esc(s.key), gran, period, c.offered, c.carried, c.blocked, c.blockingRate.toFixed(4), c.erlangs.toFixed(3)].join(','));
    };
    for (const d of s.days) line(lang === 'ja' ? '日' : 'day', d.date, d);
    for (const h of s.hours) line(lang === 'ja' ? '時' : 'hour', h.hour, h);
  }
  return `${rows.join('\r\n')}\r\n`;
}
