import { describe, expect, it } from 'vitest';
import { jstMonthStartMs } from '../rating/month.js';
import { PortUsageAccumulator } from './ports.js';
import type { TrafficCall } from './report.js';

const M = 60_000;
const DAY0 = jstMonthStartMs('2026-11');
const call = (startMin: number, minutes: number, blocked = false): TrafficCall => ({
  startedAt: DAY0 + startMin * M,
  endedAt: DAY0 + (startMin + minutes) * M,
  blockedBy: blocked ? 'ports' : null,
  trunkId: null,
  group: null,
});
const usage = (calls: TrafficCall[], days = 1) => {
  const a = new PortUsageAccumulator(DAY0, DAY0 + days * 1440 * M);
  for (const c of calls) a.add(c);
  return a.result();
};

describe('ports in use', () => {
  it('peak, when, and per hour of day', () => {
    const u = usage([call(600, 10), call(605, 10), call(609, 3), call(612, 1, true)]); // 10:00–10:15 JST
    expect(u.peak).toBe(3);
    expect(u.peakAt).toBe(DAY0 + 609 * M);
    expect(u.byHourOfDay[10]?.peak).toBe(3);
    expect(u.byHourOfDay[9]?.peak).toBe(0);
    // minutes 600–604: 1, 605–608: 2, 609: 3, 610–611: 2, 612–614: 1 → 5+8+3+4+3 = 23 port-minutes over 60 minutes
    expect(u.byHourOfDay[10]?.mean).toBeCloseTo(23 / 60, 12);
  });

  it('a call ending exactly on a minute boundary does not hold the next minute; a zero-length call holds its minute', () => {
    expect(usage([call(0, 1), call(1, 1)]).peak).toBe(1);
    expect(usage([call(5, 0)]).peak).toBe(1);
  });

  it('95th percentile by nearest rank over the minutes', () => {
    // 1440 minutes; 60 minutes with 4 ports in use (under 5 %), the rest 0: the 1368th value is 0.
    const calls: TrafficCall[] = [];
    for (let i = 0; i < 4; i++) calls.push(call(0, 60));
    expect(usage(calls).p95).toBe(0);
    // 80 minutes idle, 1360 minutes with 2 ports: p95 is 2.
    expect(usage([call(80, 1360), call(80, 1360)]).p95).toBe(2);
  });

  it('per JST day peaks; calls outside the period are clipped', () => {
    const u = usage([call(-30, 60), call(1440 + 100, 5), call(1440 + 100, 5)], 2);
    expect(u.byDay).toEqual([{ date: '2026-11-01', peak: 1 }, { date: '2026-11-02', peak: 2 }]);
  });
});
