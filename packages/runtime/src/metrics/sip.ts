import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Every REGISTER ends in exactly one of these. */
export const REGISTER_OUTCOMES = [
  'ok',
  'unregistered',
  'challenged',
  'stale',
  'auth_failed',
  'replay',
  'forbidden',
  'interval_too_brief',
  'too_many_contacts',
  'out_of_order',
  'bad_request',
  'blocked',
  'error',
] as const;
export type RegisterOutcome = (typeof REGISTER_OUTCOMES)[number];

export const AUTH_FAILURE_REASONS = ['bad_response', 'unknown_user', 'unknown_domain', 'username_mismatch', 'realm_mismatch'] as const;
export type AuthFailureReason = (typeof AUTH_FAILURE_REASONS)[number];

export type BlockScope = 'ip' | 'aor' | 'pair';

/** At most this many tenants get their own label value on the registrations gauge; the rest are summed as `_other`. */
export const MAX_TENANT_LABELS = 50;

export interface SipMetrics {
  // --- registrar ---------------------------------------------------------------------------------
  readonly registerOutcomes: Counter<'outcome'>;
  readonly authFailures: Counter<'reason'>;
  readonly blocksStarted: Counter<'scope'>;
  readonly blockedRequests: Counter<'scope'>;
  readonly registerDuration: Histogram;
  readonly registeredBindings: Gauge<'tenant'>;
  /** Plugs in the function that reports live bindings per tenant (read when /metrics is scraped). */
  setBindingCounter(fn: () => Promise<ReadonlyMap<string, number>>): void;
  // --- engine connection -------------------------------------------------------------------------
  readonly engineConnected: Gauge;
  // --- call control (routing helper adds its metrics below) ---------------------------------------
}

export function createSipMetrics(registry: Registry): SipMetrics {
  let countBindings: (() => Promise<ReadonlyMap<string, number>>) | undefined;
  const registerOutcomes = new Counter({
    name: 'kumo_sip_register_total',
    help: 'REGISTER requests by outcome',
    labelNames: ['outcome'],
    registers: [registry],
  });
  for (const o of REGISTER_OUTCOMES) registerOutcomes.inc({ outcome: o }, 0);
  const authFailures = new Counter({
    name: 'kumo_sip_auth_failures_total',
    help: 'Failed digest authentications by reason (the wire answer is the same for all)',
    labelNames: ['reason'],
    registers: [registry],
  });
  for (const r of AUTH_FAILURE_REASONS) authFailures.inc({ reason: r }, 0);
  const blocksStarted = new Counter({
    name: 'kumo_sip_bruteforce_blocks_total',
    help: 'Brute-force blocks started, by scope (source ip; extension locked to its known devices; extension locked for one source ip)',
    labelNames: ['scope'],
    registers: [registry],
  });
  const blockedRequests = new Counter({
    name: 'kumo_sip_blocked_requests_total',
    help: 'Requests refused or dropped because of a brute-force block, by scope',
    labelNames: ['scope'],
    registers: [registry],
  });
  for (const s of ['ip', 'aor', 'pair']) {
    blocksStarted.inc({ scope: s }, 0);
    blockedRequests.inc({ scope: s }, 0);
  }
  const registerDuration = new Histogram({
    name: 'kumo_sip_register_duration_seconds',
    help: 'Time from receiving a REGISTER to sending its final response',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [registry],
  });
  const registeredBindings = new Gauge({
    name: 'kumo_sip_registered_bindings',
    help: `Live registration bindings per tenant (the ${MAX_TENANT_LABELS} largest tenants by name, the rest as _other)`,
    labelNames: ['tenant'],
    registers: [registry],
    async collect() {
      if (!countBindings) return;
      const counts = await countBindings();
      this.reset();
      const sorted = [...counts.entries()].sort((a, b) => b[1] - a[1]);
      let other = 0;
      sorted.forEach(([tenant, n], i) => {
        if (i < MAX_TENANT_LABELS) this.set({ tenant }, n);
        else other += n;
      });
      if (sorted.length > MAX_TENANT_LABELS) this.set({ tenant: '_other' }, other);
    },
  });
  const engineConnected = new Gauge({
    name: 'kumo_sip_engine_connected',
    help: '1 while the sip app is connected to the engine control port',
    registers: [registry],
  });
  return {
    registerOutcomes,
    authFailures,
    blocksStarted,
    blockedRequests,
    registerDuration,
    registeredBindings,
    engineConnected,
    setBindingCounter(fn) {
      countBindings = fn;
    },
  };
}
