import type { Clock, TimerHandle } from './clock.js';

/**
 * The one retransmission schedule of the stack (RFC 3261 timers A, E, G and the 2xx retransmission of RFC 6026):
 * fires after `first` ms, then at intervals doubling up to `cap`, until stopped.
 */
export class Retransmitter {
  private h: TimerHandle | undefined;
  private interval = 0;
  private cap = Infinity;

  constructor(
    private readonly clock: Clock,
    private readonly fire: () => void,
  ) {}

  get running(): boolean {
    return this.h !== undefined;
  }

  /** (Re)starts the schedule. */
  start(first: number, cap = Infinity): void {
    this.stop();
    this.interval = first;
    this.cap = cap;
    this.h = this.clock.set(first, this.tick);
  }

  stop(): void {
    this.h = this.clock.clear(this.h);
  }

  private readonly tick = (): void => {
    this.interval = Math.min(this.interval * 2, this.cap);
    this.h = this.clock.set(this.interval, this.tick);
    this.fire();
  };
}
