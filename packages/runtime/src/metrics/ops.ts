import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Probe kinds of the `kumo ops` prober (docs/operations.md, "Probes and incidents"). */
export const PROBE_KINDS = ['engine-options', 'engine-register', 'engine-call', 'redis', 'billing-lag', 'gateway'] as const;
export type ProbeKind = (typeof PROBE_KINDS)[number];

/** States of `kumo_registrations` (docs/operations.md, "Call metrics"). */
export const REGISTRATION_STATES = ['registered', 'expiring'] as const;
/** Transports of `kumo_registrations`; anything else counts as `other`. */
export const REGISTRATION_TRANSPORTS = ['udp', 'tcp', 'tls', 'ws', 'wss', 'other'] as const;

/** Metrics of the `kumo ops` process. Labels: probe kind (fixed list), restriction level (1–3), incident scope. */
export function createOpsMetrics(registry: Registry) {
  const failing = new Gauge({
    name: 'kumo_ops_probe_failing_targets',
    help: 'Probe targets failing their last probe, by probe kind (engine, redis, billing lag, trunk gateway)',
    labelNames: ['kind'] as const,
    registers: [registry],
  });
  const targets = new Gauge({
    name: 'kumo_ops_probe_targets',
    help: 'Probe targets probed in the last round, by probe kind',
    labelNames: ['kind'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'kumo_ops_probe_seconds',
    help: 'Time one probe took, by kind',
    labelNames: ['kind'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  for (const k of PROBE_KINDS) {
    failing.set({ kind: k }, 0);
    targets.set({ kind: k }, 0);
  }
  return {
    failing,
    targets,
    duration,
    billingLagSeconds: new Gauge({
      name: 'kumo_ops_billing_lag_seconds',
      help: 'Age of the oldest CDR stream entry not yet acknowledged by billing (0 when billing is caught up)',
      registers: [registry],
    }),
    openIncidents: new Gauge({
      name: 'kumo_ops_open_incidents',
      help: 'Open incidents by scope (full: tenants cannot use the service at all; partial: degraded)',
      labelNames: ['scope'] as const,
      registers: [registry],
    }),
    incidentsOpened: new Counter({
      name: 'kumo_ops_incidents_opened_total',
      help: 'Incidents opened, by origin (auto: from probes; manual: by an operator)',
      labelNames: ['origin'] as const,
      registers: [registry],
    }),
    restrictedTenants: new Gauge({
      name: 'kumo_admission_restricted_tenants',
      help: 'Tenants whose own disaster restriction level is above 0, by level (1-3); refreshed every probe round',
      labelNames: ['level'] as const,
      registers: [registry],
    }),
    results: new Counter({
      name: 'kumo_ops_probe_results_total',
      help: 'Probes run, by kind and result (ok, fail)',
      labelNames: ['kind', 'result'] as const,
      registers: [registry],
    }),
    callSetupSeconds: new Histogram({
      name: 'kumo_ops_probe_call_setup_seconds',
      help: 'Setup time of the test call loop through an engine: INVITE sent (digest challenge included) to 200 OK received',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    registrations: (() => {
      const g = new Gauge({
        name: 'kumo_registrations',
        help: 'Live registration bindings of every tenant by state (registered; expiring: within 30 s of expiry, its refresh is late) and transport; refreshed with the tenant list',
        labelNames: ['state', 'transport'] as const,
        registers: [registry],
      });
      for (const state of REGISTRATION_STATES) for (const transport of REGISTRATION_TRANSPORTS) g.set({ state, transport }, 0);
      return g;
    })(),
    roundErrors: new Counter({
      name: 'kumo_ops_round_errors_total',
      help: 'Probe rounds that failed outright (e.g. Redis unreachable while listing targets)',
      registers: [registry],
    }),
  };
}

export type OpsMetrics = ReturnType<typeof createOpsMetrics>;
