/**
 * Per-tenant data quotas (Article 37; docs/security.md, "Data quotas"): how long billing's per-call detail is kept
 * (days, per tenant within the operator's maximum) and how many help-desk tickets a tenant may store. The
 * trim job deletes per-call detail older than the tenant's retention; month totals (the invoice) stay.
 */
import type { RedisClient } from '../client.js';
import type { KeySchema } from '../keys.js';

export interface DataQuotas {
  /** Days billing's per-call detail is kept (`bill:calls`, `bill:idx`); at least `MIN_CDR_DETAIL_DAYS`. */
  readonly cdrDetailRetentionDays: number;
  /** Help-desk tickets the tenant may store (any state). */
  readonly ticketsMax: number;
}

/**
 * The shortest per-call detail retention: a month's detail must outlive its close (the month-close reconciliation
 * recomputes the totals from it, and it is the charge-once record while CDRs may still be redelivered).
 */
export const MIN_CDR_DETAIL_DAYS = 62;

const DAY = 86_400_000;
const CHUNK = 1000;

export class DataQuotaStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: KeySchema,
    /** The platform's values: the operator maximum of retention (also the default) and the default ticket cap. */
    private readonly defaults: DataQuotas,
  ) {}

  /** The tenant's quotas and whether they are its own (operator-set) or the platform's. */
  async get(tenantId: string): Promise<DataQuotas & { custom: boolean; maxCdrDetailRetentionDays: number }> {
    const raw = await this.redis.get(this.keys.tenant.dataQuotas(tenantId));
    const own = raw === null ? {} : (JSON.parse(raw) as Partial<DataQuotas>);
    const days = Math.min(own.cdrDetailRetentionDays ?? this.defaults.cdrDetailRetentionDays, this.defaults.cdrDetailRetentionDays);
    return { cdrDetailRetentionDays: days, ticketsMax: own.ticketsMax ?? this.defaults.ticketsMax, custom: raw !== null, maxCdrDetailRetentionDays: this.defaults.cdrDetailRetentionDays };
  }

  /** Sets the tenant's own quotas (fields left out keep the platform's); null returns to the platform's. */
  async set(tenantId: string, q: Partial<DataQuotas> | null): Promise<void> {
    if (q === null) await this.redis.del(this.keys.tenant.dataQuotas(tenantId));
    else await this.redis.set(this.keys.tenant.dataQuotas(tenantId), JSON.stringify(q));
  }

  /**
   * The trim job: for every month with billing activity and every tenant in it, deletes the per-call detail of calls
   * that started before the tenant's retention (`bill:idx` is scored by start time; adjustments booked into a later
   * month are found there too). Returns the number of calls whose detail was deleted.
   */
  async trimCdrDetail(now = Date.now()): Promise<number> {
    const g = this.keys.global;
    const t = this.keys.tenant;
    const retention = new Map<string, number>();
    let removed = 0;
    for (const month of await this.redis.smembers(g.billMonths())) {
      for (const tenantId of await this.redis.smembers(g.billMonthTenants(month))) {
        let days = retention.get(tenantId);
        if (days === undefined) {
          days = (await this.get(tenantId)).cdrDetailRetentionDays;
          retention.set(tenantId, days);
        }
        const cutoff = now - days * DAY;
        const idx = t.billCallIndex(tenantId, month);
        for (;;) {
          const ids = await this.redis.zrangebyscore(idx, '-inf', `(${cutoff}`, 'LIMIT', 0, CHUNK);
          if (ids.length === 0) break;
          await this.redis.hdel(t.billCalls(tenantId, month), ...ids);
          await this.redis.zrem(idx, ...ids);
          removed += ids.length;
        }
      }
    }
    return removed;
  }
}
