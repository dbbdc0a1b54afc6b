import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Billing worker metrics. Labels come from bounded sets (outcome names, shard numbers < KUMO_CDR_SHARDS). */
export function createBillingMetrics(registry: Registry) {
  return {
    cdrs: new Counter({
      name: 'kumo_billing_cdrs_total',
      help: 'CDR stream entries handled, by outcome: charged, duplicate (already charged), dead_letter, failed (left pending for retry), probe (the ops prober test calls, not billed)',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    chargedMinor: new Counter({
      name: 'kumo_billing_charged_minor_total',
      help: 'Sum of charges booked, in 1/100 JPY (tax-exclusive)',
      registers: [registry],
    }),
    batchSeconds: new Histogram({
      name: 'kumo_billing_batch_seconds',
      help: 'Time to rate and charge one batch read from a shard',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    reclaimed: new Counter({
      name: 'kumo_billing_reclaimed_total',
      help: 'Pending entries taken over from another (dead or slow) consumer with XAUTOCLAIM',
      registers: [registry],
    }),
    pending: new Gauge({
      name: 'kumo_billing_pending_entries',
      help: 'Entries delivered but not yet acknowledged, per shard (refreshed by the trim loop)',
      labelNames: ['shard'] as const,
      registers: [registry],
    }),
    lag: new Gauge({
      name: 'kumo_billing_lag_entries',
      help: 'Entries not yet delivered to the billing group, per shard (refreshed by the trim loop)',
      labelNames: ['shard'] as const,
      registers: [registry],
    }),
    trimmed: new Counter({
      name: 'kumo_billing_trimmed_entries_total',
      help: 'Stream entries trimmed after every group acknowledged them and the retention period passed',
      registers: [registry],
    }),
    deadLetters: new Gauge({
      name: 'kumo_billing_dead_letters',
      help: 'Entries in the CDR dead-letter stream (alert when > 0)',
      registers: [registry],
    }),
    monthsClosed: new Counter({
      name: 'kumo_billing_months_closed_total',
      help: 'Tenant months closed by the month-close sweep',
      registers: [registry],
    }),
    reconcileMismatches: new Counter({
      name: 'kumo_billing_reconcile_mismatches_total',
      help: 'Tenant months whose stored totals differed from the recomputation at close (should stay 0)',
      registers: [registry],
    }),
    loopErrors: new Counter({
      name: 'kumo_billing_loop_errors_total',
      help: 'Errors in the worker loops (e.g. Redis unavailable), by loop',
      labelNames: ['loop'] as const,
      registers: [registry],
    }),
  };
}

export type BillingMetrics = ReturnType<typeof createBillingMetrics>;
