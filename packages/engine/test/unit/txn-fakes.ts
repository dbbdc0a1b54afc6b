import type { Clock, TimerHandle } from '../../src/transaction/clock.js';
import type { Dest, TxnTransport } from '../../src/transaction/types.js';

/** A manual clock: timers fire only when the test advances time, in order. */
export class FakeClock implements Clock {
  now = 0;
  private seq = 0;
  private readonly timers = new Map<number, { at: number; fn: () => void }>();

  set(ms: number, fn: () => void): TimerHandle {
    const id = ++this.seq;
    this.timers.set(id, { at: this.now + ms, fn });
    return id as unknown as TimerHandle;
  }

  clear(h: TimerHandle | undefined): undefined {
    if (h !== undefined) this.timers.delete(h as unknown as number);
    return undefined;
  }

  /** Timers pending. */
  get pending(): number {
    return this.timers.size;
  }

  /** Moves time forward by `ms`, firing due timers in time order (timers set while firing included). */
  advance(ms: number): void {
    const end = this.now + ms;
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.timers) if (e[1].at <= end && (next === undefined || e[1].at < next[1].at || (e[1].at === next[1].at && e[0] < next[0]))) next = e;
      if (!next) break;
      this.timers.delete(next[0]);
      this.now = next[1].at;
      next[1].fn();
    }
    this.now = end;
  }
}

/** A transport that records what was sent, and when. */
export class FakeTransport implements TxnTransport {
  readonly sent: Array<{ at: number; dest: Dest; text: string }> = [];
  retransmissions = 0;
  constructor(private readonly clock: FakeClock) {}
  send(dest: Dest, bytes: Buffer): void {
    this.sent.push({ at: this.clock.now, dest, text: bytes.toString() });
  }
  retransmitted(): void {
    this.retransmissions++;
  }
  /** Times (ms) at which `text` was sent. */
  times(text: string): number[] {
    return this.sent.filter((s) => s.text === text).map((s) => s.at);
  }
}

export const UDP: Dest = { proto: 'udp', addr: '127.0.0.1', port: 5060 };
export const TCP: Dest = { proto: 'tcp', addr: '127.0.0.1', port: 5060 };
export const TIMERS = { T1: 500, T2: 4000, T4: 5000 };
