/**
 * Admission policy: may this call start now? Pure: the caller passes the clock, the
 * counters and a sampling value; nothing here reads time, randomness or state.
 *
 * The decision runs in two stages so that the counter-dependent part can be enforced
 * atomically elsewhere (one Redis Lua script in `@kumo/store`) with exactly the same rules:
 *
 * 1. `planAdmission(request)` applies the rules that need no counters (tenant status,
 *    emergency bypass, platform overload, disaster restriction) and either rejects or
 *    returns an `AdmissionPlan`: which limits to check and which leases to take.
 * 2. `evaluatePlan(plan, counters, now)` applies the counter rules in a fixed order
 *    (flood guard → ports → trunk channels → call rate) and says what to lease.
 *
 * `admitCall` = both stages. Every rule is explained with its contract article in
 * docs/admission.md.
 */

import type { RestrictionLevel, TenantStatus } from '../provisioning/types.js';

export type { RestrictionLevel, TenantStatus };
/** Who starts the call relative to the tenant. `internal`: between two of its extensions. */
export type AdmissionDirection = 'internal' | 'outbound' | 'inbound';
/** `emergency`: 110/118/119; `priority`: an operator-configured priority number or extension. */
export type CallPriority = 'emergency' | 'priority' | 'normal';

/** Stable rejection reasons: the `X-Kumo-Reason` header, CDR `rejectionReason` and metric label. */
export const REJECT_REASONS = [
  'tenant-suspended',
  'tenant-terminated',
  'port-limit',
  'trunk-channels',
  'rate-limit',
  'incomplete-call-flood',
  'restricted',
  'overload',
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

export function isRejectReason(s: string): s is RejectReason {
  return (REJECT_REASONS as readonly string[]).includes(s);
}

/** What the tenant's contract allows (see the provisioning data model). */
export interface AdmissionContract {
  /** Simultaneous calls (ports). */
  readonly ports: number;
  /** Token bucket refill rate; `0` or less disables the call-rate cap. */
  readonly callsPerSecond: number;
  /** Token bucket size (the burst allowed above the steady rate); at least 1. */
  readonly burst: number;
  /** Simultaneous calls over all the tenant's trunks together; absent = only per-trunk limits. */
  readonly trunkChannels?: number;
}

export interface TrunkLimit {
  readonly trunkId: string;
  /** Simultaneous calls on this trunk, both directions. */
  readonly channels: number;
  /** Channels above `channels` that only emergency calls may use; defaults to the policy's. */
  readonly emergencyReserve?: number;
}

export interface FloodGuardSettings {
  /** Sliding window over which attempts and completions are counted. */
  readonly windowMs: number;
  /** A source is judged only when more than this many of its attempts finished in the window. */
  readonly attemptThreshold: number;
  /** Completion ratio (0..1) below which a judged source is throttled. */
  readonly minCompletionRatio: number;
  /** How long a throttled source stays throttled. */
  readonly coolingMs: number;
  readonly rejectStatus: 403 | 503;
}

/** Operator settings (from config, read once at start-up). */
export interface AdmissionPolicy {
  /** Whether a suspended tenant still receives inbound calls. */
  readonly suspendedAllowsInbound: boolean;
  /** Default emergency reserve per trunk (channels above the limit for 110/118/119). */
  readonly emergencyTrunkReserve: number;
  /** Share (0..1) of non-priority outgoing calls admitted at restriction levels 1, 2, 3. */
  readonly restrictionShares: readonly [number, number, number];
  readonly flood: FloodGuardSettings;
  /** Retry-After (seconds) for rejections whose end the platform cannot predict. */
  readonly retryAfterSeconds: {
    readonly portLimit: number;
    readonly trunkChannels: number;
    readonly restricted: number;
    readonly overload: number;
  };
}

export const DEFAULT_ADMISSION_POLICY: AdmissionPolicy = {
  suspendedAllowsInbound: false,
  emergencyTrunkReserve: 1,
  restrictionShares: [0.5, 0.1, 0],
  flood: { windowMs: 60_000, attemptThreshold: 20, minCompletionRatio: 0.2, coolingMs: 300_000, rejectStatus: 503 },
  retryAfterSeconds: { portLimit: 5, trunkChannels: 5, restricted: 30, overload: 5 },
};

export interface AdmissionRequest {
  readonly status: TenantStatus;
  readonly contract: AdmissionContract;
  readonly direction: AdmissionDirection;
  readonly priority: CallPriority;
  /** The trunk the call uses when known at admission (inbound from a trunk, or a routed outbound call). */
  readonly trunk?: TrunkLimit;
  /** Flood-guard source: an extension, trunk or IP of this tenant (`ext:201`, `trunk:t1`, `ip:192.0.2.1`). */
  readonly source: string;
  readonly restriction: { readonly platform: RestrictionLevel; readonly tenant: RestrictionLevel };
  /** A value in [0, 1) derived from the call (see `admissionSample`), for restriction sampling. */
  readonly sample: number;
  /** The process's overload detector says it is overloaded. */
  readonly overloaded: boolean;
}

/** The checks and leases that remain after the counter-free rules. */
export interface AdmissionPlan {
  readonly priority: CallPriority;
  /** Port limit; `null`: the call takes a port but is not limited (emergency). */
  readonly portLimit: number | null;
  /**
   * Trunk channel limits (emergency reserve included for emergency calls): `limit` on this trunk,
   * `tenantLimit` over all the tenant's trunks together (`null`: none).
   */
  readonly trunk: { readonly trunkId: string; readonly limit: number; readonly tenantLimit: number | null } | null;
  /** Token bucket to take from; `null`: not rate-limited. */
  readonly rate: { readonly perSecond: number; readonly burst: number } | null;
  /** Flood guard to apply to `source`; `null`: exempt (emergency). */
  readonly flood: (FloodGuardSettings & { readonly source: string }) | null;
  readonly retryAfterSeconds: { readonly portLimit: number; readonly trunkChannels: number };
}

export interface TokenBucketState {
  readonly tokens: number;
  /** Epoch ms of the last update. */
  readonly updatedAt: number;
}

export interface FloodState {
  /** The source's finished attempts in the window (ended unanswered + answered); calls in progress are not judged. */
  readonly attempts: number;
  /** Of those, how many were answered. */
  readonly completions: number;
  /** Epoch ms until which the source is throttled, if it is. */
  readonly throttledUntil?: number;
}

export interface AdmissionCounters {
  /** Calls the tenant holds now (unexpired leases). */
  readonly activeCalls: number;
  /** Calls on the request's trunk now. */
  readonly trunkChannels: number;
  /** Calls on all the tenant's trunks together now. */
  readonly tenantTrunkChannels: number;
  /** `undefined`: a fresh (full) bucket. */
  readonly bucket?: TokenBucketState;
  readonly flood: FloodState;
}

export interface Lease {
  /** Always: the call holds one of the tenant's ports. */
  readonly port: true;
  readonly trunkId?: string;
  /** Whether a token was taken (the new bucket state is in `bucket`). */
  readonly token: boolean;
  readonly bucket?: TokenBucketState;
  /** The flood-guard source the call's ending (answered or not) is recorded against. */
  readonly floodSource?: string;
}

export type AdmissionDecision =
  | { readonly admit: true; readonly priority: CallPriority; readonly lease: Lease }
  | {
      readonly admit: false;
      readonly status: 403 | 404 | 503;
      readonly reason: RejectReason;
      /** Seconds, for the Retry-After header; absent for permanent refusals. */
      readonly retryAfter?: number;
      /** The flood guard started throttling the source with this decision (log, metric, event). */
      readonly floodTripped?: { readonly source: string; readonly until: number };
    };

export type Rejection = Extract<AdmissionDecision, { admit: false }>;

const reject = (status: 403 | 404 | 503, reason: RejectReason, retryAfter?: number): Rejection =>
  retryAfter === undefined ? { admit: false, status, reason } : { admit: false, status, reason, retryAfter };

/** The share (0..1) of non-priority outgoing calls admitted at a level. */
export function restrictionShare(level: RestrictionLevel, policy: AdmissionPolicy): number {
  return level === 0 ? 1 : policy.restrictionShares[level - 1] ?? 0;
}

/** Stage 1: the rules that need no counters. */
export function planAdmission(req: AdmissionRequest, policy: AdmissionPolicy = DEFAULT_ADMISSION_POLICY): Rejection | AdmissionPlan {
  const { status, direction, priority } = req;

  // Article 3: a terminated contract gives no service at all.
  if (status === 'terminated') return reject(direction === 'inbound' ? 404 : 403, 'tenant-terminated');

  const retryAfterSeconds = {
    portLimit: policy.retryAfterSeconds.portLimit,
    trunkChannels: policy.retryAfterSeconds.trunkChannels,
  };

  // Article 8: emergency calls bypass every policy rule; they still take a port (counted, not limited)
  // and may use the trunk's emergency reserve.
  if (priority === 'emergency') {
    return {
      priority,
      portLimit: null,
      trunk: req.trunk
        ? {
            trunkId: req.trunk.trunkId,
            limit: trunkLimitFor(req.trunk, priority, policy),
            tenantLimit: tenantTrunkLimitFor(req.contract, priority, policy),
          }
        : null,
      rate: null,
      flood: null,
      retryAfterSeconds,
    };
  }

  // Article 3: a suspended tenant keeps emergency calls only (and inbound calls if the operator allows).
  if (status === 'suspended' && !(direction === 'inbound' && policy.suspendedAllowsInbound)) {
    return reject(403, 'tenant-suspended');
  }

  // Article 9: platform overload refuses new non-priority calls.
  if (req.overloaded && priority === 'normal') return reject(503, 'overload', policy.retryAfterSeconds.overload);

  // Article 8: disaster restriction admits only a share of non-priority outgoing calls.
  if (direction === 'outbound' && priority === 'normal') {
    const level = Math.max(req.restriction.platform, req.restriction.tenant) as RestrictionLevel;
    if (level > 0 && !(req.sample < restrictionShare(level, policy))) {
      return reject(503, 'restricted', policy.retryAfterSeconds.restricted);
    }
  }

  const { contract } = req;
  return {
    priority,
    portLimit: contract.ports,
    trunk: req.trunk
      ? { trunkId: req.trunk.trunkId, limit: req.trunk.channels, tenantLimit: tenantTrunkLimitFor(contract, priority, policy) }
      : null,
    // Article 6: the call rate caps calls the tenant starts; inbound calls are the carriers' load.
    rate:
      direction !== 'inbound' && contract.callsPerSecond > 0
        ? { perSecond: contract.callsPerSecond, burst: Math.max(1, contract.burst) }
        : null,
    flood: { ...policy.flood, source: req.source },
    retryAfterSeconds,
  };
}

/** Token bucket refilled to `now` (a missing state is a full bucket). */
export function refillBucket(state: TokenBucketState | undefined, rate: { perSecond: number; burst: number }, now: number): TokenBucketState {
  if (state === undefined) return { tokens: rate.burst, updatedAt: now };
  const elapsed = Math.max(0, now - state.updatedAt);
  return { tokens: Math.min(rate.burst, state.tokens + (elapsed * rate.perSecond) / 1000), updatedAt: Math.max(now, state.updatedAt) };
}

/** Whether a source's window should start throttling it. */
export function floodTrips(state: FloodState, s: FloodGuardSettings): boolean {
  return state.attempts > s.attemptThreshold && state.completions < state.attempts * s.minCompletionRatio;
}

/** Stage 2: the counter rules, in the order the Redis script applies them. */
export function evaluatePlan(plan: AdmissionPlan, counters: AdmissionCounters, now: number): AdmissionDecision {
  // Article 7: a throttled source stays throttled for its cooling time; a source whose window shows
  // a flood of incomplete calls starts throttling now.
  if (plan.flood) {
    const f = plan.flood;
    const until = counters.flood.throttledUntil;
    if (until !== undefined && until > now) {
      return reject(f.rejectStatus, 'incomplete-call-flood', Math.max(1, Math.ceil((until - now) / 1000)));
    }
    if (floodTrips(counters.flood, f)) {
      return {
        ...reject(f.rejectStatus, 'incomplete-call-flood', Math.max(1, Math.ceil(f.coolingMs / 1000))),
        floodTripped: { source: f.source, until: now + f.coolingMs },
      };
    }
  }
  // Article 4: simultaneous calls never exceed the contracted ports.
  if (plan.portLimit !== null && counters.activeCalls >= plan.portLimit) {
    return reject(503, 'port-limit', plan.retryAfterSeconds.portLimit);
  }
  // Article 5: simultaneous calls on a trunk, and on all the tenant's trunks together, never exceed
  // their channels (plus the emergency reserve).
  if (
    plan.trunk &&
    (counters.trunkChannels >= plan.trunk.limit ||
      (plan.trunk.tenantLimit !== null && counters.tenantTrunkChannels >= plan.trunk.tenantLimit))
  ) {
    return reject(503, 'trunk-channels', plan.retryAfterSeconds.trunkChannels);
  }
  // Article 6: calls per second, with a burst.
  let bucket: TokenBucketState | undefined;
  if (plan.rate) {
    const b = refillBucket(counters.bucket, plan.rate, now);
    if (b.tokens < 1) {
      return reject(503, 'rate-limit', Math.max(1, Math.ceil((1 - b.tokens) / plan.rate.perSecond)));
    }
    bucket = { tokens: b.tokens - 1, updatedAt: b.updatedAt };
  }
  const lease: Lease = {
    port: true,
    token: bucket !== undefined,
    ...(plan.trunk ? { trunkId: plan.trunk.trunkId } : {}),
    ...(bucket ? { bucket } : {}),
    ...(plan.flood ? { floodSource: plan.flood.source } : {}),
  };
  return { admit: true, priority: plan.priority, lease };
}

function isPlan(p: Rejection | AdmissionPlan): p is AdmissionPlan {
  return !('admit' in p);
}

/** The whole decision for one call given a snapshot of the counters. */
export function admitCall(
  req: AdmissionRequest,
  counters: AdmissionCounters,
  now: number,
  policy: AdmissionPolicy = DEFAULT_ADMISSION_POLICY,
): AdmissionDecision {
  const p = planAdmission(req, policy);
  return isPlan(p) ? evaluatePlan(p, counters, now) : p;
}

export { isPlan as isAdmissionPlan };

/**
 * The channel limit a call may use on a trunk chosen after admission (outbound failover):
 * the trunk's channels, plus its emergency reserve for emergency calls.
 */
export function trunkLimitFor(trunk: TrunkLimit, priority: CallPriority, policy: AdmissionPolicy = DEFAULT_ADMISSION_POLICY): number {
  if (priority !== 'emergency') return trunk.channels;
  return trunk.channels + Math.max(0, trunk.emergencyReserve ?? policy.emergencyTrunkReserve);
}

/** The contract's limit over all trunks together (`null`: none), with the emergency reserve for emergency calls. */
export function tenantTrunkLimitFor(
  contract: AdmissionContract,
  priority: CallPriority,
  policy: AdmissionPolicy = DEFAULT_ADMISSION_POLICY,
): number | null {
  if (contract.trunkChannels === undefined) return null;
  return priority === 'emergency' ? contract.trunkChannels + Math.max(0, policy.emergencyTrunkReserve) : contract.trunkChannels;
}
