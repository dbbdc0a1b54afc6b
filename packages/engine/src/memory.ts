import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * One full garbage collection when the engine goes quiet after a burst (docs/engine.md, "Memory after a burst").
 *
 * A transaction lives 32 s (timers J and L, the 2xx ACK wait), so under load its objects and the Buffers it holds
 * (the datagram copies, the response bytes and the 8 KiB Buffer pool slabs they pin) are promoted to V8's old
 * generation and die there. Once the burst is over almost nothing is allocated, so V8 has no reason to run a major
 * GC: the dead objects, and the malloc memory of their Buffers, stay until the memory reducer gets to them (tens of
 * seconds, sometimes minutes). Every `intervalMs` this looks at the live transactions; when they have fallen to a
 * tenth of the peak since the last collection (and that peak was at least `minPeak`), it collects (twice: see
 * `tick`). At a steady rate nothing changes; a fall from 1,500 calls/s to idle costs two collections of a small heap
 * (a few ms each).
 */
export class QuietGc {
  private peak = 0;
  /** Looks in a row that found the load fallen. */
  private quiet = 0;
  private timer: NodeJS.Timeout | undefined;
  /** Collections run so far (stats, tests). */
  collections = 0;

  constructor(
    private readonly o: {
      /** Live transactions now. */
      readonly load: () => number;
      /** A full GC (collectGarbage). */
      readonly gc: () => void;
      readonly intervalMs: number;
      readonly minPeak: number;
    },
  ) {}

  start(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => this.tick(), this.o.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * One look; true when it collected. It collects on the first look that finds the load fallen (the dead
   * transactions' objects and Buffers) and once more on the next if the load is still down: V8 shrinks its young
   * generation (grown to 2 × 16 MB under the burst) only in a GC that sees a low allocation rate, which the first,
   * right after the burst, does not.
   */
  tick(): boolean {
    const n = this.o.load();
    if (n > this.peak) this.peak = n;
    if (this.peak < this.o.minPeak || n * 10 > this.peak) {
      this.quiet = 0;
      return false;
    }
    this.quiet++;
    if (this.quiet >= 2) {
      this.peak = 0;
      this.quiet = 0;
    }
    this.collections++;
    this.o.gc();
    return true;
  }
}

let gcFn: (() => void) | null | undefined;

/**
 * A full GC: `gc` when node runs with --expose-gc, else the same function taken from a fresh context (resolved on
 * the first call); nothing where neither is possible.
 */
export function collectGarbage(): void {
  if (gcFn === undefined) {
    const g = (globalThis as { gc?: unknown }).gc;
    if (typeof g === 'function') gcFn = g as () => void;
    else {
      try {
        setFlagsFromString('--expose-gc');
        const f: unknown = runInNewContext('gc');
        gcFn = typeof f === 'function' ? (f as () => void) : null;
      } catch {
        gcFn = null;
      }
    }
  }
  gcFn?.();
}
