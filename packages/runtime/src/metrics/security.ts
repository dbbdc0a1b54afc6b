import { Counter, type Registry } from 'prom-client';

const CLASSES = ['international', 'premium'] as const;
const cls = (c: string): (typeof CLASSES)[number] => (c === 'premium' ? 'premium' : 'international');

/**
 * Toll-fraud guard (docs/security.md). `kumo_toll_fraud_trips_total` drives the KumoTollFraudBlocked alert,
 * `kumo_toll_fraud_spend_trips_total` the KumoTollSpendExceeded alert.
 */
export interface SecurityMetrics {
  /** A tenant passed its hourly limit of a toll class: the class is now blocked for it. */
  tollTripped(tollClass: string): void;
  /** A call refused because its toll class is blocked for the tenant. */
  tollRefused(tollClass: string): void;
  /** A tenant's toll-class calls reached its hourly spend limit: the class is now blocked for it. */
  tollSpendTripped(tollClass: string): void;
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
  const spendTrips = new Counter({
    name: 'kumo_toll_fraud_spend_trips_total',
    help: "Tenants whose international and premium-rate calls reached their hourly spend limit (rated money); the class is blocked until an operator lifts it.",
    labelNames: ['class'] as const,
    registers: [registry],
  });
  for (const c of CLASSES) {
    trips.inc({ class: c }, 0);
    refused.inc({ class: c }, 0);
    spendTrips.inc({ class: c }, 0);
  }
  return {
    tollSpendTripped: (c) => spendTrips.inc({ class: cls(c) }),
    tollTripped: (c) => trips.inc({ class: cls(c) }),
    tollRefused: (c) => refused.inc({ class: cls(c) }),
  };
}
