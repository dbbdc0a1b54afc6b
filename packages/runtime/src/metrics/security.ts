import { Counter, type Registry } from 'prom-client';

const CLASSES = ['international', 'premium'] as const;
const cls = (c: string): (typeof CLASSES)[number] => (c === 'premium' ? 'premium' : 'international');

/** Toll-fraud guard (docs/security.md). `kumo_toll_fraud_trips_total` drives the KumoTollFraudBlocked alert. */
export interface SecurityMetrics {
  /** A tenant passed its hourly limit of a toll class: the class is now blocked for it. */
  tollTripped(tollClass: string): void;
  /** A call refused because its toll class is blocked for the tenant. */
  tollRefused(tollClass: string): void;
}

export function createSecurityMetrics(registry: Registry): SecurityMetrics {
  const trips = new Counter({
    name: 'kumo_toll_fraud_trips_total',
    help: 'Tenants that passed their hourly limit of international or premium-rate calls (the class is blocked until an operator lifts it).',
    labelNames: ['class'] as const,
    registers: [registry],
  });
  const refused = new Counter({
    name: 'kumo_toll_fraud_refused_calls_total',
    help: 'Calls refused because their toll class is blocked for the tenant.',
    labelNames: ['class'] as const,
    registers: [registry],
  });
  for (const c of CLASSES) {
    trips.inc({ class: c }, 0);
    refused.inc({ class: c }, 0);
  }
  return {
    tollTripped: (c) => trips.inc({ class: cls(c) }),
    tollRefused: (c) => refused.inc({ class: cls(c) }),
  };
}
