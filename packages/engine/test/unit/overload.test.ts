import { describe, expect, it } from 'vitest';
import { OverloadGuard } from '../../src/overload.js';
import { FakeClock } from './txn-fakes.js';

describe('OverloadGuard', () => {
  const guard = (pendingHigh = 4, lagHighMs = 100) => {
    const clock = new FakeClock();
    let now = 0;
    const g = new OverloadGuard({ lagHighMs, pendingHigh, retryAfterS: 5, sampleMs: 20 }, clock, () => now);
    const tick = (ms: number): void => {
      now += ms;
      clock.advance(ms);
    };
    return { g, clock, late: (ms: number) => (now += ms), tick };
  };

  it('sheds above the unanswered-INVITE limit and stops under half of it (hysteresis)', () => {
    const { g } = guard(4);
    for (let i = 0; i < 4; i++) g.delivered();
    expect(g.shouldShed()).toBe(false);
    g.delivered(); // 5 > 4
    expect(g.shouldShed()).toBe(true);
    g.settled();
    g.settled();
    g.settled(); // 2: not under half yet
    expect(g.shouldShed()).toBe(true);
    g.settled(); // 1 < 2
    expect(g.shouldShed()).toBe(false);
    expect(g.state).toMatchObject({ shedding: false, pendingInvites: 1, shed: 2 });
  });

  it('never counts below zero', () => {
    const { g } = guard(4);
    g.settled();
    g.delivered();
    expect(g.state.pendingInvites).toBe(1);
  });

  it('measures event-loop lag from late timers, smoothed: one pause does not flip it, a sustained lag does', () => {
    const { g, clock, late, tick } = guard(1000, 100);
    g.start();
    tick(20);
    expect(g.state.lagMs).toBe(0);
    // two 500 ms stalls (a GC pause): smoothed to 50 and 95 ms, no shedding
    late(500);
    tick(20);
    expect(g.state.lagMs).toBe(50);
    late(500);
    tick(20);
    expect(g.shouldShed()).toBe(false);
    // the loop keeps running 300 ms late
    for (let i = 0; i < 8; i++) {
      late(300);
      tick(20);
    }
    expect(g.shouldShed()).toBe(true);
    // back on time: lag decays under 50 ms and shedding stops
    for (let i = 0; i < 30; i++) tick(20);
    expect(g.state.lagMs).toBeLessThan(50);
    expect(g.shouldShed()).toBe(false);
    g.stop();
    expect(clock.pending).toBe(0);
  });
});
