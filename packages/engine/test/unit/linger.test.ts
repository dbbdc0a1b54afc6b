import { describe, expect, it } from 'vitest';
import { ClientTransaction } from '../../src/transaction/client.js';
import { LingerQueue, type Lingering } from '../../src/transaction/linger.js';
import { ServerTransaction } from '../../src/transaction/server.js';
import { FakeClock, FakeTransport, TCP, TIMERS, UDP } from './txn-fakes.js';

/** A waiter that records when its wait ended. */
function waiter(clock: FakeClock, ended: number[]): Lingering {
  return { lingerOver: () => ended.push(clock.now) };
}

describe('LingerQueue', () => {
  it('ends every wait between its length and one slot (1/64) later, in the order they began', () => {
    const clock = new FakeClock();
    const q = new LingerQueue(clock, 32000);
    const ended: number[] = [];
    const began: number[] = [];
    for (let i = 0; i < 100; i++) {
      began.push(clock.now);
      q.add(waiter(clock, ended));
      clock.advance(137);
    }
    expect(q.size).toBe(100);
    clock.advance(40000);
    expect(ended).toHaveLength(100);
    expect(q.size).toBe(0);
    ended.forEach((t, i) => {
      const waited = t - (began[i] as number);
      expect(waited).toBeGreaterThanOrEqual(32000);
      expect(waited).toBeLessThanOrEqual(32000 + 500);
    });
    expect([...ended].sort((a, b) => a - b)).toEqual(ended);
  });

  it('runs no timer while nothing waits, and starts again on the next wait', () => {
    const clock = new FakeClock();
    const q = new LingerQueue(clock, 5000);
    expect(clock.pending).toBe(0);
    const ended: number[] = [];
    q.add(waiter(clock, ended));
    expect(clock.pending).toBe(1);
    clock.advance(6000);
    expect(ended).toHaveLength(1);
    expect(clock.pending).toBe(0);
    q.add(waiter(clock, ended));
    clock.advance(4999);
    expect(ended).toHaveLength(1);
    clock.advance(200);
    expect(ended).toHaveLength(2);
    expect(clock.pending).toBe(0);
  });

  it('a wait that begins while others end keeps one timer, and ends a full length later', () => {
    const clock = new FakeClock();
    const q = new LingerQueue(clock, 6400);
    const ended: number[] = [];
    q.add({ lingerOver: () => q.add(waiter(clock, ended)) });
    clock.advance(6500);
    expect(clock.pending).toBe(1);
    const at = clock.now;
    clock.advance(6600);
    expect(ended).toHaveLength(1);
    expect((ended[0] as number) - at).toBeGreaterThanOrEqual(6400 - 100);
    expect(clock.pending).toBe(0);
  });

  it('clear() forgets every wait and its timer (engine shutdown)', () => {
    const clock = new FakeClock();
    const q = new LingerQueue(clock, 1000);
    const ended: number[] = [];
    for (let i = 0; i < 10; i++) q.add(waiter(clock, ended));
    q.clear();
    q.clear();
    expect(clock.pending).toBe(0);
    clock.advance(5000);
    expect(ended).toEqual([]);
    expect(q.size).toBe(0);
  });

  it('keeps its batches compact over a long run (200,000 waits)', () => {
    const clock = new FakeClock();
    const q = new LingerQueue(clock, 3200);
    let ended = 0;
    const w: Lingering = { lingerOver: () => void ended++ };
    for (let i = 0; i < 200000; i++) {
      q.add(w);
      if (i % 100 === 0) clock.advance(10);
    }
    clock.advance(10000);
    expect(ended).toBe(200000);
    expect(q.size).toBe(0);
  });
});

describe('transactions in linger queues', () => {
  const lingers = (clock: FakeClock) => ({ long: new LingerQueue(clock, 64 * TIMERS.T1), short: new LingerQueue(clock, TIMERS.T4) });

  it('server: timer L and timer J wait in the queue, not on timers of their own, and still end the transaction', () => {
    const clock = new FakeClock();
    const tp = new FakeTransport(clock);
    const linger = lingers(clock);
    let terminated = 0;
    const mk = (method: string, key: string) =>
      new ServerTransaction({ id: key, key, method, dest: UDP, timers: TIMERS, clock, transport: tp, tuTimeoutMs: 64000, proceedingLimitMs: 600000, onTerminated: () => void terminated++, linger }, {});
    const inv = mk('INVITE', 'i');
    const bye = mk('BYE', 'b');
    inv.sendFinal(200, Buffer.from('200'));
    bye.sendFinal(200, Buffer.from('200 bye'));
    expect(linger.long.size).toBe(2);
    expect(clock.pending).toBe(1); // the queue's one tick
    expect(bye.onRequestRetransmission()).toBe(true); // timer J still absorbs and answers
    clock.advance(64 * TIMERS.T1 - 1);
    expect([inv.state, bye.state]).toEqual(['accepted', 'completed']);
    clock.advance(64 * TIMERS.T1 / 64 + 1);
    expect([inv.state, bye.state]).toEqual(['terminated', 'terminated']);
    expect(terminated).toBe(2);
    expect(clock.pending).toBe(0);
  });

  it('server over TCP: timer J is 0, not queued', () => {
    const clock = new FakeClock();
    const linger = lingers(clock);
    const t = new ServerTransaction({ id: 'b', key: 'b', method: 'BYE', dest: TCP, timers: TIMERS, clock, transport: new FakeTransport(clock), tuTimeoutMs: 64000, proceedingLimitMs: 600000, onTerminated: () => undefined, linger }, {});
    t.sendFinal(200, Buffer.from('200'));
    expect(linger.long.size).toBe(0);
    clock.advance(0);
    expect(t.state).toBe('terminated');
  });

  it('client: timer M and timer K wait in their queues and end the transaction', () => {
    const clock = new FakeClock();
    const tp = new FakeTransport(clock);
    const linger = lingers(clock);
    const mk = (method: string) =>
      new ClientTransaction({ id: method, branch: `z9hG4bK${method}`, method, dest: UDP, bytes: Buffer.from(method), timers: TIMERS, clock, transport: tp, timerCMs: 180000, onTimeout: () => undefined, onTerminated: () => undefined, linger }, {});
    const inv = mk('INVITE');
    const bye = mk('BYE');
    inv.start();
    bye.start();
    expect(inv.receive(200)).toBe('final');
    expect(bye.receive(200)).toBe('final');
    expect([linger.long.size, linger.short.size]).toEqual([1, 1]);
    expect(inv.receive(200)).toBe('retransmission'); // timer M absorbs the 2xx again for the dialog
    clock.advance(TIMERS.T4 + TIMERS.T4 / 64 + 1);
    expect([inv.state, bye.state]).toEqual(['accepted', 'terminated']);
    clock.advance(64 * TIMERS.T1);
    expect(inv.state).toBe('terminated');
    expect(clock.pending).toBe(0);
  });
});
