import type { Clock, TimerHandle } from './clock.js';

/** What waits in a `LingerQueue`: told once, when its wait is over. */
export interface Lingering {
  lingerOver(): void;
}

/**
 * Many waits of one length on one clock timer, for transactions that only absorb retransmissions until a timer ends
 * them: RFC 3261 timers J and K, RFC 6026 timers L and M. At 2,500 calls/s about 250,000 transactions wait out
 * timers L, J and M (32 s); a Node `Timeout`, its closure and the closure's context for each came to ~15 % of the heap
 * a full GC marks.
 * Waits that begin within one slot (1/64 of the length) end together, at one tick: between `ms` and `ms` + a slot
 * after they began (RFC timer values are lower bounds). While nothing waits, no timer runs. A transaction ended
 * early (`terminate`) stays queued until its wait is over, and `lingerOver` then finds it already terminated.
 */
export class LingerQueue {
  /** Waits that began since the last tick. */
  private open: Lingering[] = [];
  /** Closed batches, oldest first, each with the tick at which it ends; `head` is the first not yet ended. */
  private batches: { readonly endsAt: number; readonly items: Lingering[] }[] = [];
  private head = 0;
  private ticks = 0;
  private h: TimerHandle | undefined;
  private readonly slotMs: number;
  /** Slots in a wait: a batch closed at tick k ends at tick k + slots. */
  private readonly slots: number;
  private count = 0;

  constructor(
    private readonly clock: Clock,
    /** The length of every wait (ms). */
    readonly ms: number,
  ) {
    this.slotMs = Math.max(1, ms / 64);
    this.slots = Math.ceil(ms / this.slotMs);
  }

  /** How many are waiting. */
  get size(): number {
    return this.count;
  }

  /** Starts `x`'s wait; `x.lingerOver()` is called once it is over (unless `clear` comes first). */
  add(x: Lingering): void {
    this.open.push(x);
    this.count++;
    this.h ??= this.clock.set(this.slotMs, this.tick);
  }

  /** Forgets every wait without ending it (engine shutdown). Idempotent. */
  clear(): void {
    this.h = this.clock.clear(this.h);
    this.open = [];
    this.batches = [];
    this.head = 0;
    this.count = 0;
  }

  private readonly tick = (): void => {
    this.h = undefined;
    this.ticks++;
    if (this.open.length > 0) {
      this.batches.push({ endsAt: this.ticks + this.slots, items: this.open });
      this.open = [];
    }
    while (this.head < this.batches.length) {
      const b = this.batches[this.head] as { readonly endsAt: number; readonly items: Lingering[] };
      if (b.endsAt > this.ticks) break;
      this.head++;
      this.count -= b.items.length;
      for (const x of b.items) x.lingerOver();
    }
    if (this.head > 32 && this.head * 2 > this.batches.length) {
      this.batches = this.batches.slice(this.head);
      this.head = 0;
    }
    // (a wait that began inside lingerOver has armed the timer already)
    if (this.count > 0) this.h ??= this.clock.set(this.slotMs, this.tick);
  };
}

/** The engine's two wait lengths: 64·T1 (timers J, L, M) and T4 (timer K). */
export interface Lingers {
  readonly long: LingerQueue;
  readonly short: LingerQueue;
}

/**
 * Ends `x` (`lingerOver`) after `ms`: in `queue` when it is a queue of that length, else on a clock timer of its own,
 * whose handle is returned (undefined when queued).
 */
export function endAfter(x: Lingering, ms: number, queue: LingerQueue | undefined, clock: Clock): TimerHandle | undefined {
  if (queue !== undefined && queue.ms === ms) {
    queue.add(x);
    return undefined;
  }
  return clock.set(ms, () => x.lingerOver());
}
