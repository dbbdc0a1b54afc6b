import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/**
 * Call metrics of the sip process (docs/operations.md, "Call metrics"). Every label takes values from a
 * bounded set: direction and disposition are the CDR's enums; `cause` is one of `END_CAUSES`; `tenant`
 * is one of the first `MAX_CALL_TENANT_LABELS` tenants this process saw, every later one is `_other`.
 */
export const CALL_DIRECTIONS = ['internal', 'outbound', 'inbound', 'emergency'] as const;
export const CALL_DISPOSITIONS = ['answered', 'no-answer', 'busy', 'failed', 'cancelled', 'rejected'] as const;

/** SIP final statuses counted by number; every other status is counted by class (`sip-4xx`). */
const NAMED_STATUSES = [403, 404, 408, 480, 484, 486, 487, 488, 500, 502, 503, 504, 600, 603] as const;
const REJECTIONS = [
  'tenant-suspended', 'tenant-terminated', 'port-limit', 'trunk-channels', 'rate-limit', 'incomplete-call-flood',
  'restricted', 'overload', 'auth-failed', 'admission-unavailable', 'internal-error',
] as const;

/** Every end cause label value. */
export const END_CAUSES: readonly string[] = [
  'caller-hangup', 'callee-hangup', 'system-hangup', 'cancelled',
  ...REJECTIONS.map((r) => `rejected-${r}`), 'rejected-other',
  ...NAMED_STATUSES.map((s) => `sip-${s}`), 'sip-1xx', 'sip-2xx', 'sip-3xx', 'sip-4xx', 'sip-5xx', 'sip-6xx', 'other',
];

/** What a finished call's CDR says, reduced to the fields the metrics read. */
export interface CallEnd {
  readonly tenantId: string;
  readonly direction: string;
  readonly disposition: string;
  readonly finalStatus: number;
  readonly hangupBy: string | null;
  readonly rejectionReason: string | null;
}

/** The bounded end-cause label of a finished call. */
export function endCauseOf(c: Omit<CallEnd, 'tenantId' | 'direction'>): string {
  if (c.disposition === 'answered') return c.hangupBy === 'caller' || c.hangupBy === 'callee' || c.hangupBy === 'system' ? `${c.hangupBy}-hangup` : 'other';
  if (c.disposition === 'cancelled') return 'cancelled';
  if (c.rejectionReason !== null) return (REJECTIONS as readonly string[]).includes(c.rejectionReason) ? `rejected-${c.rejectionReason}` : 'rejected-other';
  if ((NAMED_STATUSES as readonly number[]).includes(c.finalStatus)) return `sip-${c.finalStatus}`;
  const cls = Math.floor(c.finalStatus / 100);
  return cls >= 1 && cls <= 6 ? `sip-${cls}xx` : 'other';
}

export const MAX_CALL_TENANT_LABELS = 50;

export interface CallMetrics {
  /** Counts a finished call (from its CDR). */
  ended(c: CallEnd): void;
  /** Seconds from the INVITE to the first 180/183 or the 200, whichever came first. */
  observeSetup(seconds: number): void;
  cdrPublishFailed(): void;
  /** Plugs in the function that reports calls in progress (read when /metrics is scraped). */
  setActiveCounter(fn: () => { ringing: number; answered: number }): void;
}

export function createCallMetrics(registry: Registry): CallMetrics {
  const tenants = new Set<string>();
  const tenantLabel = (t: string): string => {
    if (tenants.has(t)) return t;
    if (tenants.size < MAX_CALL_TENANT_LABELS) {
      tenants.add(t);
      return t;
    }
    return '_other';
  };
  const oneOf = (v: string, set: readonly string[]): string => (set.includes(v) ? v : 'other');
  let active: (() => { ringing: number; answered: number }) | undefined;
  const calls = new Counter({
    name: 'kumo_sip_calls_total',
    help: `Finished calls (one per CDR) by tenant (first ${MAX_CALL_TENANT_LABELS} seen, then _other), direction, disposition and end cause`,
    labelNames: ['tenant', 'direction', 'disposition', 'cause'] as const,
    registers: [registry],
  });
  const setup = new Histogram({
    name: 'kumo_sip_call_setup_seconds',
    help: 'Time from receiving an INVITE to sending the first 180/183 or the 200 (post-dial delay as the caller sees it)',
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10],
    registers: [registry],
  });
  const publishFailures = new Counter({
    name: 'kumo_sip_cdr_publish_failures_total',
    help: 'CDRs that could not be written to the CDR stream (must stay 0: each is a call billing never sees)',
    registers: [registry],
  });
  new Gauge({
    name: 'kumo_sip_active_calls',
    help: 'Calls in progress in this process, by state (ringing: not yet answered; answered: bridged)',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      if (!active) return;
      const a = active();
      this.set({ state: 'ringing' }, a.ringing);
      this.set({ state: 'answered' }, a.answered);
    },
  });
  return {
    ended: (c) =>
      calls.inc({
        tenant: tenantLabel(c.tenantId),
        direction: oneOf(c.direction, CALL_DIRECTIONS),
        disposition: oneOf(c.disposition, CALL_DISPOSITIONS),
        cause: endCauseOf(c),
      }),
    observeSetup: (s) => setup.observe(s),
    cdrPublishFailed: () => publishFailures.inc(),
    setActiveCounter: (fn) => {
      active = fn;
    },
  };
}
