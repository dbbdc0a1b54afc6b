import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/**
 * Bounded label values for admission outcomes: the stable rejection reasons of
 * `REJECT_REASONS` in @kumo/domain (kept equal by a unit test in @kumo/sip), plus `other`.
 */
export const ADMISSION_REASON_LABELS = [
  'tenant-suspended',
  'tenant-terminated',
  'port-limit',
  'trunk-channels',
  'rate-limit',
  'incomplete-call-flood',
  'restricted',
  'overload',
  'other',
] as const;
export type AdmissionReasonLabel = (typeof ADMISSION_REASON_LABELS)[number];

const PRIORITIES = ['emergency', 'priority', 'normal'] as const;
type PriorityLabel = (typeof PRIORITIES)[number];

const reasonLabel = (r: string): AdmissionReasonLabel =>
  (ADMISSION_REASON_LABELS as readonly string[]).includes(r) ? (r as AdmissionReasonLabel) : 'other';
const priorityLabel = (p: string): PriorityLabel => ((PRIORITIES as readonly string[]).includes(p) ? (p as PriorityLabel) : 'normal');

export interface AdmissionMetrics {
  admitted(priority: string): void;
  rejected(reason: string, priority: string): void;
  /** Seconds one admission decision took (plan + Redis script). */
  observeDecision(seconds: number): void;
  floodTripped(): void;
  registerRejected(): void;
  leasesSwept(n: number): void;
  leasesLost(n: number): void;
  setLeasesHeld(n: number): void;
  setOverloaded(on: boolean): void;
  setEventLoopLag(seconds: number): void;
  setRestriction(platformLevel: number): void;
}

export function createAdmissionMetrics(registry: Registry): AdmissionMetrics {
  const decisions = new Counter({
    name: 'kumo_admission_decisions_total',
    help: 'Call admission decisions by outcome, rejection reason (none when admitted) and call priority.',
    labelNames: ['outcome', 'reason', 'priority'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'kumo_admission_decision_seconds',
    help: 'Time to decide one call admission (including the Redis script).',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [registry],
  });
  const floodTrips = new Counter({
    name: 'kumo_admission_flood_trips_total',
    help: 'Sources throttled by the incomplete-call flood guard.',
    registers: [registry],
  });
  const registerRejected = new Counter({
    name: 'kumo_admission_register_rejected_total',
    help: 'REGISTER requests refused by the per-source rate cap.',
    registers: [registry],
  });
  const swept = new Counter({
    name: 'kumo_admission_leases_swept_total',
    help: 'Expired port leases removed by the sweeper (calls of a crashed or stalled process).',
    registers: [registry],
  });
  const lost = new Counter({
    name: 'kumo_admission_leases_lost_total',
    help: 'Leases of this process found expired at renewal (the process stalled longer than the lease TTL).',
    registers: [registry],
  });
  const held = new Gauge({
    name: 'kumo_admission_leases_held',
    help: 'Call leases this process holds and renews.',
    registers: [registry],
  });
  const overloaded = new Gauge({
    name: 'kumo_admission_overloaded',
    help: '1 while the process refuses new non-priority calls because of overload.',
    registers: [registry],
  });
  const lag = new Gauge({
    name: 'kumo_admission_event_loop_lag_seconds',
    help: 'Event-loop delay (p99 over the last sample) seen by the overload detector.',
    registers: [registry],
  });
  const platformLevel = new Gauge({
    name: 'kumo_admission_restriction_level',
    help: 'Platform-wide disaster restriction level (0-3) as seen by this process.',
    registers: [registry],
  });
  for (const p of PRIORITIES) decisions.inc({ outcome: 'admitted', reason: 'none', priority: p }, 0);
  return {
    admitted: (p) => decisions.inc({ outcome: 'admitted', reason: 'none', priority: priorityLabel(p) }),
    rejected: (r, p) => decisions.inc({ outcome: 'rejected', reason: reasonLabel(r), priority: priorityLabel(p) }),
    observeDecision: (s) => duration.observe(s),
    floodTripped: () => floodTrips.inc(),
    registerRejected: () => registerRejected.inc(),
    leasesSwept: (n) => swept.inc(n),
    leasesLost: (n) => lost.inc(n),
    setLeasesHeld: (n) => held.set(n),
    setOverloaded: (on) => overloaded.set(on ? 1 : 0),
    setEventLoopLag: (s) => lag.set(s),
    setRestriction: (level) => platformLevel.set(level),
  };
}
