/**
 * The `tollFraudGuard` step's service (docs/security.md): counts the tenant's international and
 * premium-rate calls per hour, and checks the hour's rated spend of those calls (added by billing);
 * past either limit the class is blocked (403, Reason and X-Kumo-Reason: toll-fraud-guard), the trip
 * is logged and counted (alert), until an operator lifts it.
 */
import { limitOf, tollClassesOfPlan, type RoutePlan, type Tenant } from '@kumo/domain';
import type { Logger, SecurityMetrics } from '@kumo/runtime';
import type { TollFraudStore } from '@kumo/store';

export interface TollRefusal {
  readonly status: number;
  readonly reason: string;
  readonly code: string;
  readonly headers: Readonly<Record<string, string>>;
}

export type TollGuard = (tenant: Tenant, plan: RoutePlan) => Promise<TollRefusal | undefined>;

export function createTollGuard(store: TollFraudStore, metrics: SecurityMetrics, log: Logger): TollGuard {
  return async (tenant, plan) => {
    const classes = tollClassesOfPlan(plan);
    if (classes.length === 0) return undefined;
    const { limits } = await store.limits(tenant.id);
    for (const cls of classes) {
      const r = await store.attempt(tenant.id, cls, limitOf(limits, cls), Date.now(), limits.spendPerHour);
      if (r.outcome === 'tripped') {
        metrics.tollTripped(cls);
        log.warn({ tenantId: tenant.id, class: cls, calls: r.calls, limit: limitOf(limits, cls) }, 'toll-fraud guard tripped: class blocked for the tenant until an operator lifts it');
      }
      if (r.outcome === 'spent') {
        metrics.tollSpendTripped(cls);
        log.warn({ tenantId: tenant.id, class: cls, spend: r.calls, spendLimit: limits.spendPerHour }, 'toll-fraud guard: hourly spend limit reached, class blocked for the tenant until an operator lifts it');
      }
      if (r.outcome === 'tripped' || r.outcome === 'blocked' || r.outcome === 'spent') {
        metrics.tollRefused(cls);
        const what = r.outcome === 'spent' ? 'hourly spend limit reached' : 'toll-fraud guard';
        return {
          status: 403,
          reason: 'Forbidden',
          code: 'toll-fraud-guard',
          headers: { Reason: `SIP;cause=403;text="${cls} calls blocked (${what})"`, 'X-Kumo-Reason': 'toll-fraud-guard' },
        };
      }
    }
    return undefined;
  };
}
