import type { Clock, TimerHandle } from './transaction/clock.js';

export interface OverloadOptions {
  /**
   * Event-loop lag (smoothed, ms) above which new INVITEs are shed: the engine itself is behind (its receive
   * queue grows). Shedding stops once it is back under half of it.
   */
  readonly lagHighMs: number;
  /**
   * New INVITEs handed to apps and not answered yet (not even a provisional) above which new INVITEs are shed: the
   * apps are not keeping up. Shedding stops under half of it.
   */
  readonly pendingHigh: number;
  /** Seconds in the Retry-After of the 503. */
  readonly retryAfterS: number;
  /** How often the event-loop lag is sampled (ms). */
  readonly sampleMs?: number;
}

export const DEFAULT_OVERLOAD: OverloadOptions = { lagHighMs: 250, pendingHigh: 2000, retryAfterS: 5, sampleMs: 20 };

/**
 * Load shedding (RFC 3261 §21.5.4, RFC 7339's spirit without its signalling): decides whether a new INVITE is
 * refused with 503 + Retry-After before it reaches an app. It watches the engine's own event-loop lag and the
 * apps' backlog of unanswered new INVITEs, with hysteresis (on above the limit, off under half of it). Admitted
 * transactions, their retransmissions and in-dialog requests are never shed.
 */
export class OverloadGuard {
  private lagEwma = 0;
  private pending = 0;
  private on = false;
  private timer: TimerHandle | undefined;
  private lastTick = 0;
  /** INVITEs refused so far. */
  shed = 0;

  constructor(
    readonly o: OverloadOptions,
    private readonly clock: Clock,
    private readonly now: () => number = () => performance.now(),
    /** Told whenever the shedding state or the backlog changes (metrics). */
    private readonly onChange?: (s: { shedding: boolean; pendingInvites: number }) => void,
  ) {}

  /** Starts sampling the event-loop lag: a timer that fires late measures how far behind the loop is. */
  start(): void {
    const every = this.o.sampleMs ?? 20;
    this.lastTick = this.now();
    const tick = (): void => {
      const t = this.now();
      this.sampleLag(Math.max(0, t - this.lastTick - every));
      this.lastTick = t;
      this.timer = this.clock.set(every, tick);
    };
    this.timer = this.clock.set(every, tick);
  }

  stop(): void {
    this.timer = this.clock.clear(this.timer);
  }

  /** One lag sample (ms); smoothed (α = 0.1) so a GC pause or two do not flip the state, a sustained lag does. */
  sampleLag(ms: number): void {
    this.lagEwma = this.lagEwma * 0.9 + ms * 0.1;
    this.update();
  }

  /** A new INVITE was handed to an app. */
  delivered(): void {
    this.pending++;
    this.update();
  }

  /** The app answered it (first response), or it ended unanswered (cancelled, timed out, app gone). */
  settled(): void {
    if (this.pending > 0) this.pending--;
    this.update();
  }

  /** Whether a new INVITE arriving now is to be refused. Counts the refusals. */
  shouldShed(): boolean {
    if (this.on) this.shed++;
    return this.on;
  }

  get state(): { shedding: boolean; lagMs: number; pendingInvites: number; shed: number } {
    return { shedding: this.on, lagMs: Math.round(this.lagEwma), pendingInvites: this.pending, shed: this.shed };
  }

  private update(): void {
    const { lagHighMs, pendingHigh } = this.o;
    if (!this.on) {
      if (this.lagEwma > lagHighMs || this.pending > pendingHigh) this.on = true;
    } else if (this.lagEwma < lagHighMs / 2 && this.pending < pendingHigh / 2) this.on = false;
    this.onChange?.({ shedding: this.on, pendingInvites: this.pending });
  }
}
