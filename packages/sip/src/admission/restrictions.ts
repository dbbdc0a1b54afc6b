import type { RestrictionLevel } from '@kumo/domain';
import type { AdmissionStore, RestrictionLevels } from '@kumo/store';
import type { Logger } from '@kumo/runtime';

export interface RestrictionWatcherOptions {
  readonly store: AdmissionStore;
  readonly log: Logger;
  /** Poll period; changes are seen within this plus one Redis round trip (≤ 1 s by config). */
  readonly pollMs: number;
  readonly onChange?: (levels: RestrictionLevels) => void;
}

/**
 * Keeps this process's view of the disaster restriction levels (platform-wide and per
 * tenant) fresh by polling one small Redis hash. If Redis is unreachable the last known
 * levels stay in force.
 */
export class RestrictionWatcher {
  private levels: RestrictionLevels = { platform: 0, tenants: new Map() };
  private timer: NodeJS.Timeout | undefined;
  private inFlight = false;

  constructor(private readonly o: RestrictionWatcherOptions) {}

  /** Reads the levels once, then keeps polling. */
  async start(): Promise<void> {
    await this.poll();
    this.timer ??= setInterval(() => void this.poll(), this.o.pollMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  levelsFor(tenantId: string): { platform: RestrictionLevel; tenant: RestrictionLevel } {
    return { platform: this.levels.platform, tenant: this.levels.tenants.get(tenantId) ?? 0 };
  }

  current(): RestrictionLevels {
    return this.levels;
  }

  private async poll(): Promise<void> {
    if (this.inFlight) return;
    this.inFlight = true;
    try {
      const next = await this.o.store.readRestrictions();
      if (!same(next, this.levels)) {
        this.o.log.warn(
          { platform: next.platform, tenants: Object.fromEntries(next.tenants) },
          'disaster restriction levels changed',
        );
        this.levels = next;
        this.o.onChange?.(next);
      }
    } catch (err) {
      this.o.log.warn({ err }, 'could not read restriction levels; keeping the last known');
    } finally {
      this.inFlight = false;
    }
  }
}

function same(a: RestrictionLevels, b: RestrictionLevels): boolean {
  if (a.platform !== b.platform || a.tenants.size !== b.tenants.size) return false;
  for (const [t, l] of a.tenants) if (b.tenants.get(t) !== l) return false;
  return true;
}
