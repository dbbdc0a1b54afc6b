import type { RestrictionLevel } from '@kumo/domain';
import type { AdmissionStore } from '@kumo/store';
import type { Logger } from '@kumo/runtime';

export interface RestrictionWatcherOptions {
  readonly store: AdmissionStore;
  readonly log: Logger;
  /** Poll period; changes are seen within this plus one Redis round trip (≤ 1 s by config). */
  readonly pollMs: number;
  readonly onChange?: (platformLevel: RestrictionLevel) => void;
}

/**
 * Keeps this process's view of the platform-wide disaster restriction level fresh by polling
 * one small Redis key. If Redis is unreachable the last known level stays in force. (A
 * tenant's own level is part of its tenant record, read with the tenant for every call.)
 */
export class RestrictionWatcher {
  private level: RestrictionLevel = 0;
  private timer: NodeJS.Timeout | undefined;
  private inFlight = false;

  constructor(private readonly o: RestrictionWatcherOptions) {}

  /** Reads the level once, then keeps polling. */
  async start(): Promise<void> {
    await this.poll();
    this.timer ??= setInterval(() => void this.poll(), this.o.pollMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  platformLevel(): RestrictionLevel {
    return this.level;
  }

  private async poll(): Promise<void> {
    if (this.inFlight) return;
    this.inFlight = true;
    try {
      const next = await this.o.store.readPlatformRestriction();
      if (next !== this.level) {
        this.o.log.warn({ from: this.level, to: next }, 'platform-wide disaster restriction level changed');
        this.level = next;
        this.o.onChange?.(next);
      }
    } catch (err) {
      this.o.log.warn({ err }, 'could not read the restriction level; keeping the last known');
    } finally {
      this.inFlight = false;
    }
  }
}
