import { describe, expect, it } from 'vitest';
import { jstMonthStartMs } from '../rating/month.js';
import { channelsForBlocking, erlangB } from './erlang.js';
import { jstHourIso, trafficCallOf, trafficReport, trafficReportToCsv, type TrafficCall } from './report.js';

const H = 3_600_000;
const DAY0 = jstMonthStartMs('2026-11'); // 2026-11-01 00:00 JST
const call = (startH: number, minutes: number, extra: Partial<TrafficCall> = {}): TrafficCall => ({
  startedAt: DAY0 + startH * H,
  endedAt: DAY0 + startH * H + minutes * 60_000,
  blockedBy: null,
  trunkId: null,
  group: null,
  ...extra,
});

describe('trafficCallOf', () => {
  it('capacity rejections are blocked calls; other rejections are carried attempts', () => {
    const base = { startedAt: 1000, endedAt: 2000, billableSeconds: 0, trunkId: null };
    expect(trafficCallOf({ ...base, rejectionReason: 'port-limit' }).blockedBy).toBe('ports');
    expect(trafficCallOf({ ...base, rejectionReason: 'trunk-channels' }).blockedBy).toBe('trunk');
    expect(trafficCallOf({ ...base, rejectionReason: 'rate-limit' }).blockedBy).toBeNull();
    expect(trafficCallOf({ ...base, rejectionReason: 'toString' }).blockedBy).toBeNull();
  });

  it('older stored calls without an end time hold for their billable seconds', () => {
    expect(trafficCallOf({ startedAt: 1000, billableSeconds: 60, trunkId: 't1' }).endedAt).toBe(61_000);
  });
});

describe('traffic report', () => {
  it('offered, carried, blocked and erlangs per hour', () => {
    const calls = [
      call(9, 30), // 0.5 E in 09:00
      call(9.5, 60), // 09:30–10:30 → 0.5 E in 09, 0.5 E in 10
      call(9.75, 0, { blockedBy: 'ports' }),
      call(10, 6, { trunkId: 'tr1', group: '600' }), // 0.1 E
    ];
    const r = trafficReport('t', DAY0, DAY0 + 24 * H, calls, { ports: 2, trunks: { tr1: 1 }, groups: { '600': 3 } });
    const h9 = r.tenant.hours[9]!;
    expect(h9).toMatchObject({ hour: '2026-11-01T09:00+09:00', offered: 3, carried: 2, blocked: 1 });
    expect(h9.erlangs).toBeCloseTo(1.0, 12);
    expect(h9.blockingRate).toBeCloseTo(1 / 3, 12);
    expect(r.tenant.hours[10]!.erlangs).toBeCloseTo(0.6, 12);
    expect(r.tenant.totals).toMatchObject({ offered: 4, carried: 3, blocked: 1 });
    expect(r.tenant.totals.meanHoldingSeconds).toBeCloseTo(((30 + 60 + 6) * 60) / 3, 9);
    expect(r.tenant.blockedBy).toEqual({ ports: 1, trunk: 0 });
    expect(r.tenant.busyHour?.hour).toBe('2026-11-01T09:00+09:00');
    expect(r.trunks.map((s) => s.key)).toEqual(['tr1']);
    expect(r.trunks[0]!.totals.erlangs).toBeCloseTo(0.1 / 24, 12);
    expect(r.groups[0]).toMatchObject({ key: '600', dimension: 'group' });
    expect(r.groups[0]!.sizing.capacity).toBe(3);
  });

  it('busy hour offered traffic adds the blocked calls at the mean holding time; sizing follows Erlang-B', () => {
    // 20 carried calls of 6 minutes each in 14:00 = 2 E, plus 4 blocked calls at the mean 6 min = 0.4 E.
    const calls: TrafficCall[] = [];
    for (let i = 0; i < 20; i++) calls.push(call(14 + i / 40, 6));
    for (let i = 0; i < 4; i++) calls.push(call(14.1, 0, { blockedBy: 'trunk', trunkId: 'tr1' }));
    const r = trafficReport('t', DAY0, DAY0 + 24 * H, calls, { ports: 3 });
    expect(r.tenant.busyHour?.hour).toBe('2026-11-01T14:00+09:00');
    expect(r.tenant.sizing.busyHourOfferedErlangs).toBeCloseTo(2.4, 9);
    expect(r.tenant.sizing.predictedBlocking).toBeCloseTo(erlangB(2.4, 3), 12);
    expect(r.tenant.sizing.recommendedChannels).toBe(channelsForBlocking(2.4, 0.01));
    expect(r.tenant.sizing.recommendedChannels).toBe(7);
    expect(r.tenant.blockedBy).toEqual({ ports: 0, trunk: 4 });
  });

  it('days follow JST dates; per-day busy hour and the time-consistent busy hour', () => {
    const calls = [call(10, 60), call(10, 60), call(24 + 15, 60), call(24 + 15, 60), call(24 + 15, 60), call(24 + 10, 30)];
    const r = trafficReport('t', DAY0, DAY0 + 48 * H, calls, { ports: null });
    expect(r.tenant.days.map((d) => d.date)).toEqual(['2026-11-01', '2026-11-02']);
    expect(r.tenant.days[0]!.busyHour).toEqual({ hour: 10, erlangs: 2 });
    expect(r.tenant.days[1]!.busyHour).toEqual({ hour: 15, erlangs: 3 });
    expect(r.tenant.days[0]!.erlangs).toBeCloseTo(2 / 24, 12);
    // hour 10: (2 + 0.5)/2 = 1.25; hour 15: 3/2 = 1.5
    expect(r.tenant.timeConsistentBusyHour).toEqual({ hour: 15, erlangs: 1.5 });
    expect(r.tenant.sizing.capacity).toBeNull();
    expect(r.tenant.sizing.predictedBlocking).toBeNull();
  });

  it('a call crossing midnight JST counts in both days; outside the period it is clipped', () => {
    const r = trafficReport('t', DAY0, DAY0 + 24 * H, [call(23.5, 60), call(-0.5, 60)], { ports: 10 });
    expect(r.tenant.hours[23]!.erlangs).toBeCloseTo(0.5, 12);
    expect(r.tenant.hours[0]!.erlangs).toBeCloseTo(0.5, 12);
    expect(r.tenant.totals.offered).toBe(1); // the call from the previous day is not offered in this period
  });

  it('JST hour labels', () => {
    expect(jstHourIso(Date.UTC(2026, 10, 30, 15, 0))).toBe('2026-12-01T00:00+09:00');
    expect(jstHourIso(Date.UTC(2026, 10, 30, 14, 59))).toBe('2026-11-30T23:00+09:00');
  });

  it('CSV in English and Japanese', () => {
    const r = trafficReport('t', DAY0, DAY0 + 24 * H, [call(9, 30)], { ports: 2 });
    const en = trafficReportToCsv(r, 'en').split('\r\n');
    expect(en[0]).toBe('dimension,key,granularity,period,offered,carried,blocked,blocking_rate,erlangs');
    expect(en[1]).toBe('tenant,t,day,2026-11-01,1,1,0,0.0000,0.021');
    expect(trafficReportToCsv(r, 'ja').split('\r\n')[0]).toContain('呼損率');
  });

  it('refuses an empty or absurd period', () => {
    expect(() => trafficReport('t', DAY0, DAY0, [], { ports: 1 })).toThrow(RangeError);
    expect(() => trafficReport('t', DAY0, DAY0 + 500 * 24 * H, [], { ports: 1 })).toThrow(RangeError);
  });
});
