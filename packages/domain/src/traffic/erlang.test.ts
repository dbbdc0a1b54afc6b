import { describe, expect, it } from 'vitest';
import {
  blockingRate,
  busiestIndex,
  channelsForBlocking,
  erlangB,
  erlangsFromCalls,
  erlangsOf,
  timeConsistentBusyHour,
  trafficForBlocking,
} from './erlang.js';

/** Four significant digits, as the published tables print them. */
const sig4 = (x: number): number => Number(x.toPrecision(4));

describe('Erlang-B against the published tables (traffic in erlangs for N channels at grade of service B)', () => {
  // Columns of the standard Erlang-B table (e.g. ITU-T / Siemens "Telephone Traffic Theory" tables).
  it.each([
    [1, 0.01, 0.0101],
    [2, 0.01, 0.1526],
    [3, 0.01, 0.4555],
    [5, 0.01, 1.361],
    [10, 0.01, 4.461],
    [20, 0.01, 12.03],
    [30, 0.01, 20.34],
    [50, 0.01, 37.90],
    [100, 0.01, 84.06],
    [10, 0.001, 3.092],
    [10, 0.005, 3.961],
    [10, 0.02, 5.084],
    [10, 0.05, 6.216],
    [24, 0.01, 15.30],
    [24, 0.02, 16.63],
    [100, 0.02, 87.97],
  ])('N=%i, B=%f carries %f E', (n, b, table) => {
    expect(sig4(trafficForBlocking(n, b))).toBe(table);
  });

  it.each([
    [1, 1, 0.5],
    [2, 1, 0.2],
    [5, 2, 0.03670],
    [10, 5, 0.01838],
    [10, 10, 0.2146],
    [0, 3, 1],
  ])('B(N=%i, A=%f) = %f', (n, a, b) => {
    expect(sig4(erlangB(a, n))).toBe(b);
  });

  it('stays finite for tenant-sized groups (20,000 channels)', () => {
    const b = erlangB(19_800, 20_000);
    expect(Number.isFinite(b)).toBe(true);
    expect(b).toBeGreaterThan(0);
    expect(b).toBeLessThan(0.01);
  });

  it('rejects nonsense input', () => {
    expect(() => erlangB(-1, 3)).toThrow(RangeError);
    expect(() => erlangB(1, 2.5)).toThrow(RangeError);
    expect(() => channelsForBlocking(1, 0)).toThrow(RangeError);
  });
});

describe('sizing: fewest channels for 1 % blocking', () => {
  it.each([
    [0, 0],
    [0.01, 1],
    [0.0102, 2],
    [1.36, 5],
    [1.362, 6],
    [4.461, 10],
    [4.47, 11],
    [12.0, 20],
    [37.9, 50],
    [84.0, 100],
    [84.1, 101],
  ])('%f E needs %i channels', (a, n) => {
    expect(channelsForBlocking(a, 0.01)).toBe(n);
  });

  it('is consistent with the inverse for every N up to 200', () => {
    for (let n = 1; n <= 200; n++) {
      const a = trafficForBlocking(n, 0.01);
      expect(channelsForBlocking(a * 0.999999, 0.01)).toBe(n);
      expect(channelsForBlocking(a * 1.000001, 0.01)).toBe(n + 1);
    }
  });
});

describe('traffic from calls', () => {
  it.each([
    // calls/hour, mean holding seconds, erlangs
    [0, 180, 0],
    [20, 180, 1],
    [120, 90, 3],
    [1000, 36, 10],
  ])('%i calls/h × %i s = %f E', (calls, hold, e) => {
    expect(erlangsFromCalls(calls, hold)).toBeCloseTo(e, 12);
  });

  it('holding time over the period', () => {
    expect(erlangsOf(3_600_000 * 2.5, 3_600_000)).toBe(2.5);
    expect(() => erlangsOf(1, 0)).toThrow(RangeError);
  });

  it('blocking rate', () => {
    expect(blockingRate(0, 0)).toBe(0);
    expect(blockingRate(200, 3)).toBe(0.015);
  });
});

describe('busy hour (最繁時)', () => {
  it('largest value, earliest on ties', () => {
    expect(busiestIndex([])).toBe(-1);
    expect(busiestIndex([1, 3, 2, 3])).toBe(1);
    expect(busiestIndex([0, 0])).toBe(0);
  });

  it('time-consistent busy hour averages each hour of day over the days', () => {
    const day1 = Array.from({ length: 24 }, (_, h) => (h === 10 ? 8 : h === 14 ? 6 : 1));
    const day2 = Array.from({ length: 24 }, (_, h) => (h === 10 ? 2 : h === 14 ? 7 : 1));
    // hour 10: (8+2)/2 = 5; hour 14: (6+7)/2 = 6.5 → 14 is the busy hour though day 1 peaked at 10.
    expect(timeConsistentBusyHour([day1, day2])).toEqual({ hour: 14, erlangs: 6.5 });
    expect(timeConsistentBusyHour([])).toBeNull();
  });
});
