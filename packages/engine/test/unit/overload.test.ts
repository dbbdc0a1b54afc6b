import { describe, expect, it } from 'vitest';
import { engineSpec, readConfig } from '@kumo/config';
import { DEFAULT_TRYING_DELAY_MS } from '../../src/engine.js';
import { DEFAULT_OVERLOAD, OverloadGuard, type OverloadOptions } from '../../src/overload.js';
import { FakeClock } from './txn-fakes.js';

/**
 * `run(ms, offered/s, answerMs)`: offers new INVITEs to `g` evenly on `clock` (branch keys `<tag>1`, `<tag>2`, …); the
 * app answers each admitted one at once after `answerMs`. Returns how many were admitted and shed.
 */
function offered(g: OverloadGuard, clock: FakeClock, tag: string): (ms: number, rate: number, answerMs: number) => { admitted: number; shed: number } {
  let n = 0;
  return (ms, rate, answerMs) => {
    const out = { admitted: 0, shed: 0 };
    const step = 1000 / rate;
    for (let t = 0; t < ms; t += step) {
      clock.advance(step);
      if (g.shouldShed(`${tag}${++n}`)) out.shed++;
      else {
        out.admitted++;
        g.delivered();
        g.settled(answerMs);
      }
    }
    return out;
  };
}

describe('OverloadGuard backstops', () => {
  let seq = 0;
  const guard = (pendingHigh = 4, lagHighMs = 100) => {
    const clock = new FakeClock();
    let now = 0;
    const g = new OverloadGuard({ lagHighMs, pendingHigh, retryAfterS: 5, sampleMs: 20, latencyHighMs: 0 }, clock, () => now);
    const tick = (ms: number): void => {
      now += ms;
      clock.advance(ms);
    };
    return { g, clock, late: (ms: number) => (now += ms), tick };
  };

  it('sheds above the unanswered-INVITE limit and stops under half of it (hysteresis)', () => {
    const { g } = guard(4);
    for (let i = 0; i < 4; i++) g.delivered();
    expect(g.shouldShed(`k${++seq}`)).toBe(false);
    g.delivered(); // 5 > 4
    expect(g.shouldShed(`k${++seq}`)).toBe(true);
    g.settled();
    g.settled();
    g.settled(); // 2: not under half yet
    expect(g.shouldShed(`k${++seq}`)).toBe(true);
    g.settled(); // 1 < 2
    expect(g.shouldShed(`k${++seq}`)).toBe(false);
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
    expect(g.shouldShed(`k${++seq}`)).toBe(false);
    // the loop keeps running 300 ms late
    for (let i = 0; i < 8; i++) {
      late(300);
      tick(20);
    }
    expect(g.shouldShed(`k${++seq}`)).toBe(true);
    // back on time: lag decays under 50 ms and shedding stops
    for (let i = 0; i < 30; i++) tick(20);
    expect(g.state.lagMs).toBeLessThan(50);
    expect(g.shouldShed(`k${++seq}`)).toBe(false);
    g.stop();
    expect(clock.pending).toBe(0);
  });
});

describe('OverloadGuard admission controller', () => {
  /** A guard on a fake clock: `run(ms, offered/s, answerMs)` offers INVITEs evenly, the app answers each at once after `answerMs`. */
  const setup = (elu = 0.5) => {
    const clock = new FakeClock();
    let e = elu;
    const g = new OverloadGuard({ lagHighMs: 250, pendingHigh: 100000, retryAfterS: 5, latencyHighMs: 100, eluHigh: 0.98, sampleMs: 20, intervalMs: 100 }, clock, () => clock.now, undefined, () => e);
    g.start();
    const run = offered(g, clock, 'b');
    return { g, clock, run, setElu: (x: number) => (e = x) };
  };

  it('admits everything while answers are quick', () => {
    const { g, run } = setup();
    expect(run(3000, 2000, 20)).toEqual({ admitted: 6000, shed: 0 });
    expect(g.state).toMatchObject({ shedding: false, limit: 0, admitted: 6000, shed: 0 });
  });

  it('jitter is not congestion: one quick answer in an interval means no standing backlog', () => {
    const { g, clock, run } = setup();
    run(500, 1000, 10);
    for (let i = 0; i < 1000; i++) {
      clock.advance(1);
      if (!g.shouldShed(`j${i}`)) {
        g.delivered();
        g.settled(i % 20 === 0 ? 5 : 400); // most answers slow, some quick
      }
    }
    expect(g.state).toMatchObject({ limit: 0, shed: 0 });
  });

  it('never limits a light load, however slow its answers (a few calls on a busy test machine)', () => {
    const { g, run } = setup(1);
    expect(run(5000, 50, 2000)).toEqual({ admitted: 250, shed: 0 });
    expect(g.state.limit).toBe(0);
  });

  it('two intervals of slow answers (a stall) do not cut; three in a row cut the limit to 90 % of the rate answered', () => {
    const { g, run } = setup();
    run(1000, 1000, 10);
    run(250, 1000, 300); // at most two intervals with only slow answers
    run(100, 1000, 10);
    expect(g.state.limit).toBe(0);
    run(400, 1000, 300); // three in a row
    expect(g.state.limit).toBeGreaterThanOrEqual(850);
    expect(g.state.limit).toBeLessThanOrEqual(950);
    expect(g.state.shedding).toBe(true);
  });

  it('under sustained congestion admits about the limit, spread evenly, and refuses the rest with no burst', () => {
    const { g, run } = setup();
    run(1000, 1000, 10);
    run(400, 1000, 300);
    const limit = g.state.limit;
    // offered twice the rate while congestion persists: about `limit` per second is admitted
    const r = run(1000, 2000, 300);
    expect(r.admitted + r.shed).toBe(2000);
    expect(r.admitted).toBeLessThan(limit * 1.05 + 100);
    expect(r.shed).toBeGreaterThan(800);
  });

  it('probes back up while answers are quick, and lifts the limit after 5 s without shedding', () => {
    const { g, run } = setup();
    run(1000, 1000, 10);
    run(400, 1000, 300);
    const cut = g.state.limit;
    run(300, 2000, 40); // quick answers while shedding: +2 % per interval
    expect(g.state.limit).toBeGreaterThan(cut * 1.03);
    expect(g.state.limit).toBeLessThan(cut * 1.1);
    const slow = g.state.limit;
    run(300, 2000, 5); // immediate answers (no backlog at all): +10 % per interval
    expect(g.state.limit).toBeGreaterThan(slow * 1.25);
    run(2500, 100, 10); // demand falls: nothing shed, limit still set
    expect(g.state.limit).toBeGreaterThan(0);
    run(3000, 100, 10);
    expect(g.state).toMatchObject({ limit: 0, shedding: false });
  });

  it('a stall answers few: the limit is at most halved per interval', () => {
    const { g, run, clock } = setup();
    run(1000, 1000, 10);
    run(400, 1000, 300);
    const cut = g.state.limit;
    // 200 ms in which one INVITE is answered, very late
    clock.advance(100);
    g.delivered();
    g.settled(2000);
    clock.advance(100);
    g.delivered();
    g.settled(2000);
    expect(g.state.limit).toBeGreaterThanOrEqual(Math.floor(cut / 2));
  });

  it('event-loop utilisation above eluHigh counts as congestion (when set; off by default)', () => {
    const { g, run, setElu } = setup();
    run(500, 1000, 10);
    setElu(1);
    run(300, 1000, 10);
    expect(g.state.limit).toBeGreaterThan(0);
    expect(g.state.elu).toBe(1);
  });

  it('a refused INVITE stays refused (its retransmissions), for 4 to 8 s', () => {
    const clock = new FakeClock();
    const h = new OverloadGuard({ lagHighMs: 250, pendingHigh: 1, retryAfterS: 5, latencyHighMs: 100, sampleMs: 20, intervalMs: 100 }, clock, () => clock.now, undefined, () => 0);
    h.start();
    h.delivered();
    h.delivered(); // backstop on
    expect(h.shouldShed('x')).toBe(true);
    h.settled();
    h.settled(); // backstop off
    expect(h.shouldShed('y')).toBe(false);
    expect(h.shouldShed('x')).toBe(true); // the retransmission of a refused INVITE
    expect(h.state.shed).toBe(1); // counted once
    clock.advance(8100);
    expect(h.shouldShed('x')).toBe(false);
    h.stop();
    expect(clock.pending).toBe(0);
  });
});

describe('OverloadGuard receive-queue probe', () => {
  /**
   * A guard whose probes come back through a receive queue `queueMs` long (`lose` drops them: a full buffer), and
   * `run(ms, offered/s, answerMs)` as above.
   */
  const setup = (o: OverloadOptions = { lagHighMs: 250, pendingHigh: 100000, retryAfterS: 5, latencyHighMs: 100, queueHighMs: 300, sampleMs: 20, intervalMs: 100 }) => {
    const clock = new FakeClock();
    let queueMs = 5;
    let lose = false;
    const g: OverloadGuard = new OverloadGuard(
      o,
      clock,
      () => clock.now,
      undefined,
      () => 0,
      (sentAt) => {
        if (!lose) clock.set(queueMs, () => g.probeReturned(sentAt));
      },
    );
    g.start();
    const run = offered(g, clock, 'q');
    return { g, clock, run, setQueue: (ms: number) => (queueMs = ms), setLose: (x: boolean) => (lose = x) };
  };

  it('reports the queue delay and does not limit while it stays short, however high the rate', () => {
    const { g, run, setQueue } = setup();
    setQueue(40);
    expect(run(2000, 2000, 10)).toEqual({ admitted: 4000, shed: 0 });
    expect(g.state).toMatchObject({ limit: 0, shedding: false, queueMs: 40 });
  });

  it('a standing queue alone never sets the first limit (a process descheduled on a busy machine)', () => {
    const { g, run, setQueue } = setup();
    run(1000, 1000, 10);
    setQueue(450);
    expect(run(2000, 1000, 10)).toEqual({ admitted: 2000, shed: 0 });
    expect(g.state).toMatchObject({ limit: 0, queueMs: 450 });
  });

  /** Slow answers set a limit (as without the probe), then the answers are quick again. */
  const limited = (): ReturnType<typeof setup> => {
    const s = setup();
    s.run(1000, 1000, 10);
    s.run(400, 1000, 300);
    expect(s.g.limiting).toBe(true);
    return s;
  };

  it('once a limit is set, a standing queue cuts it although the apps answer quickly; a brief one does not', () => {
    const { g, run, setQueue } = limited();
    const cut = g.state.limit;
    setQueue(350);
    run(100, 2000, 10); // what queued in 100 ms is late for about two intervals
    setQueue(20);
    run(300, 2000, 10);
    expect(g.state.limit).toBeGreaterThanOrEqual(cut);
    setQueue(450);
    run(800, 2000, 10); // sustained
    expect(g.state.limit).toBeLessThan(cut);
  });

  it('a probe the kernel dropped counts as late as it has been out', () => {
    const { g, run, setLose } = limited();
    const cut = g.state.limit;
    setLose(true);
    run(800, 2000, 10);
    expect(g.state.queueMs).toBeGreaterThan(300);
    expect(g.state.limit).toBeLessThan(cut);
    setLose(false);
    run(300, 2000, 10);
    expect(g.state.queueMs).toBeLessThan(50);
  });

  it('with the defaults, a queue standing at a small fraction of T1 already cuts, and the limit grows once it is near empty', () => {
    const { g, run, setQueue } = setup(DEFAULT_OVERLOAD);
    run(1000, 1000, 10);
    run(400, 1000, 300); // slow answers set the first limit
    expect(g.limiting).toBe(true);
    const cut = g.state.limit;
    setQueue(60); // answers quick, but every message waits 60 ms: each admitted call costs the engine more
    run(800, 2000, 10);
    expect(g.state.limit).toBeLessThan(cut);
    setQueue(20); // still standing, under the target: held
    run(300, 2000, 10);
    const held = g.state.limit;
    run(500, 2000, 10);
    expect(g.state.limit).toBe(held);
    setQueue(2); // drained: it grows again
    run(500, 2000, 10);
    expect(g.state.limit).toBeGreaterThan(held * 1.3);
  });

  it("the default queue target lets an INVITE and its callee's provisional both cross the queue before the delayed 100 Trying", () => {
    expect(2 * (DEFAULT_OVERLOAD.queueHighMs ?? 0)).toBeLessThan(DEFAULT_TRYING_DELAY_MS);
  });

  it('the engine config defaults are the guard defaults (`kumo engine` and `startEngine` shed alike)', () => {
    const cfg = readConfig({ engine: engineSpec }, {}).engine;
    expect({ lagHighMs: cfg.shedLagMs, pendingHigh: cfg.shedPendingInvites, retryAfterS: cfg.shedRetryAfterSeconds, latencyHighMs: cfg.shedAnswerMs, queueHighMs: cfg.shedQueueMs }).toEqual({
      lagHighMs: DEFAULT_OVERLOAD.lagHighMs,
      pendingHigh: DEFAULT_OVERLOAD.pendingHigh,
      retryAfterS: DEFAULT_OVERLOAD.retryAfterS,
      latencyHighMs: DEFAULT_OVERLOAD.latencyHighMs,
      queueHighMs: DEFAULT_OVERLOAD.queueHighMs,
    });
    expect(cfg.tryingDelayMs).toBe(DEFAULT_TRYING_DELAY_MS);
  });

  it('the limit grows only once the queue has drained', () => {
    const { g, run, setQueue } = limited();
    setQueue(150); // under the threshold but still standing: no growth although answers are immediate
    run(1000, 2000, 5);
    const held = g.state.limit;
    run(500, 2000, 5);
    expect(g.state.limit).toBe(held);
    setQueue(10); // drained: +10 % per interval
    run(500, 2000, 5);
    expect(g.state.limit).toBeGreaterThan(held * 1.3);
  });
});
