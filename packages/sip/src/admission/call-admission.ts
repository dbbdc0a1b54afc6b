/**
 * Call admission for the sip process: the `admitCall` request-route step calls `admit`,
 * the call session calls `leaseTrunk` / `releaseTrunk` per outbound trunk attempt,
 * `markAnswered` on 200 OK, and `release` on every ending path (try/finally).
 *
 * It joins the pure policy (`@kumo/domain`), this process's view of restriction levels and
 * overload, and the atomic Redis enforcement (`@kumo/store`), and keeps the leases of the
 * calls it holds alive (renewal) while sweeping leases of crashed processes.
 */
import {
  admissionSample,
  classifyCall,
  isAdmissionPlan,
  isEmergencyNumber,
  planAdmission,
  trunkLimitFor,
  tenantTrunkLimitFor,
  type AdmissionContract,
  type AdmissionDirection,
  type AdmissionPolicy,
  type CallPriority,
  type PriorityFacts,
  type RejectReason,
  type RestrictionLevel,
  type TenantStatus,
  type TrunkLimit,
} from '@kumo/domain';
import { KumoError, type AdmissionMetrics, type Logger, type OverloadDetector } from '@kumo/runtime';
import type { AdmissionStore, AdmissionTicket } from '@kumo/store';
import type { RestrictionWatcher } from './restrictions.js';

export interface AdmissionCall {
  readonly tenantId: string;
  /** The call's identity (A-leg Call-ID); admitting it again is harmless. */
  readonly callId: string;
  readonly status: TenantStatus;
  /** The tenant's own restriction level, from its tenant record as read for this call. */
  readonly restrictionLevel: RestrictionLevel;
  readonly contract: AdmissionContract;
  readonly direction: AdmissionDirection;
  /** Dialled digits and parties, for emergency / priority classification. */
  readonly facts: PriorityFacts;
  /** The trunk when known now (inbound from a trunk). Outbound trunks are leased with `leaseTrunk`. */
  readonly trunk?: TrunkLimit;
  /** Flood-guard source: `ext:<number>`, `trunk:<id>` or `ip:<address>`. */
  readonly source: string;
}

export interface AdmissionRefusal {
  readonly admit: false;
  readonly status: 403 | 404 | 503;
  readonly reason: RejectReason;
  readonly retryAfter?: number;
  /** `Retry-After` (when set) and `X-Kumo-Reason`, for the SIP response. */
  readonly headers: Readonly<Record<string, string>>;
}

export type AdmissionResult =
  | { readonly admit: true; readonly ticket: AdmissionTicket; readonly priority: CallPriority }
  | AdmissionRefusal;

export interface CallAdmissionOptions {
  readonly store: AdmissionStore;
  readonly policy: AdmissionPolicy;
  readonly restrictions: RestrictionWatcher;
  readonly overload: OverloadDetector;
  readonly metrics: AdmissionMetrics;
  readonly log: Logger;
  readonly leaseRenewMs: number;
  readonly sweepMs: number;
  /** REGISTER cap per source; `perSecond` 0 disables it. */
  readonly register: { readonly perSecond: number; readonly burst: number };
  /** How long a tenant's priority numbers are cached. Default 1000 ms. */
  readonly priorityCacheMs?: number;
}

/** SIP headers for a refusal. */
export function rejectionHeaders(r: { reason: string; retryAfter?: number }): Record<string, string> {
  return r.retryAfter !== undefined
    ? { 'Retry-After': String(r.retryAfter), 'X-Kumo-Reason': r.reason }
    : { 'X-Kumo-Reason': r.reason };
}

const refusal = (status: 403 | 404 | 503, reason: RejectReason, retryAfter?: number): AdmissionRefusal => ({
  admit: false,
  status,
  reason,
  ...(retryAfter !== undefined ? { retryAfter } : {}),
  headers: rejectionHeaders(retryAfter !== undefined ? { reason, retryAfter } : { reason }),
});

export class CallAdmission {
  private readonly held = new Map<string, AdmissionTicket>();
  private readonly priorityCache = new Map<string, { at: number; numbers: ReadonlySet<string> }>();
  private pendingCount = 0;
  private renewTimer: NodeJS.Timeout | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private renewing = false;
  private sweeping = false;

  constructor(private readonly o: CallAdmissionOptions) {}

  /** Admission decisions in flight (a queue-depth signal for the overload detector). */
  get pending(): number {
    return this.pendingCount;
  }

  /** Leases this process holds. */
  get leasesHeld(): number {
    return this.held.size;
  }

  /** Reads restriction levels, then renews and sweeps periodically. */
  async start(): Promise<void> {
    await this.o.restrictions.start();
    this.renewTimer ??= setInterval(() => void this.renewNow(), this.o.leaseRenewMs);
    this.renewTimer.unref();
    this.sweepTimer ??= setInterval(() => void this.sweepNow(), this.o.sweepMs);
    this.sweepTimer.unref();
  }

  /** Stops timers; leases still held expire on their own (or are released by their calls). */
  close(): void {
    if (this.renewTimer) clearInterval(this.renewTimer);
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.renewTimer = undefined;
    this.sweepTimer = undefined;
    this.o.restrictions.stop();
    this.o.overload.close();
  }

  /**
   * Decides whether a new call may start, and takes its leases if so. Throws a KumoError
   * `KUMO_ERR_ADMISSION_UNAVAILABLE` when Redis cannot be reached (answer 503), except for
   * emergency calls, which are admitted without a lease.
   */
  async admit(call: AdmissionCall): Promise<AdmissionResult> {
    const started = performance.now();
    this.pendingCount += 1;
    try {
      const result = await this.decide(call);
      if (result.admit) {
        this.held.set(key(result.ticket), result.ticket);
        this.o.metrics.setLeasesHeld(this.held.size);
        this.o.metrics.admitted(result.priority);
      }
      return result;
    } finally {
      this.pendingCount -= 1;
      this.o.metrics.observeDecision((performance.now() - started) / 1000);
    }
  }

  private async decide(call: AdmissionCall): Promise<AdmissionResult> {
    const { log, metrics, store, policy } = this.o;
    const emergency = isEmergencyNumber(call.facts.dialled);
    const priority: CallPriority = emergency ? 'emergency' : classifyCall(call.facts, await this.priorityNumbers(call.tenantId));
    const plan = planAdmission(
      {
        status: call.status,
        contract: call.contract,
        direction: call.direction,
        priority,
        ...(call.trunk ? { trunk: call.trunk } : {}),
        source: call.source,
        restriction: { platform: this.o.restrictions.platformLevel(), tenant: call.restrictionLevel },
        sample: admissionSample(call.callId),
        // only consulted for non-priority calls: never let it cost a priority call anything
        overloaded: priority === 'normal' && this.o.overload.overloaded(),
      },
      policy,
    );
    if (!isAdmissionPlan(plan)) {
      metrics.rejected(plan.reason, priority);
      log.debug({ tenantId: call.tenantId, callId: call.callId, reason: plan.reason }, 'call refused by admission policy');
      return refusal(plan.status, plan.reason, plan.retryAfter);
    }
    let out: Awaited<ReturnType<AdmissionStore['admit']>>;
    try {
      out = await store.admit(call.tenantId, call.callId, plan);
    } catch (err) {
      if (priority === 'emergency') {
        // Article 8: an emergency call goes through even when its lease cannot be recorded.
        log.error({ err, tenantId: call.tenantId, callId: call.callId }, 'admission store unavailable; emergency call admitted without a lease');
        const ticket: AdmissionTicket = { tenantId: call.tenantId, callId: call.callId, priority, ...(call.trunk ? { trunkId: call.trunk.trunkId } : {}) };
        return { admit: true, ticket, priority };
      }
      throw new KumoError('KUMO_ERR_ADMISSION_UNAVAILABLE', 'admission store unavailable', { tenantId: call.tenantId }, { cause: err });
    }
    if (out.admit) return { admit: true, ticket: out.ticket, priority };
    metrics.rejected(out.reason, priority);
    if (out.floodTripped) {
      metrics.floodTripped();
      log.warn(
        { tenantId: call.tenantId, source: out.floodTripped.source, until: new Date(out.floodTripped.until).toISOString() },
        'incomplete-call flood: source throttled',
      );
    } else {
      log.debug({ tenantId: call.tenantId, callId: call.callId, reason: out.reason, activeCalls: out.activeCalls }, 'call refused by admission limits');
    }
    return refusal(out.status, out.reason, out.retryAfter);
  }

  /**
   * Takes a channel on the trunk chosen for an outbound attempt, within the trunk's channels and
   * (given the contract) the tenant's channels over all trunks; emergency calls may use the
   * reserve. On refusal the call may try its next trunk.
   */
  async leaseTrunk(
    ticket: AdmissionTicket,
    trunk: TrunkLimit,
    contract?: AdmissionContract,
  ): Promise<{ admit: true; ticket: AdmissionTicket } | AdmissionRefusal> {
    const limit = trunkLimitFor(trunk, ticket.priority, this.o.policy);
    const tenantLimit = contract ? tenantTrunkLimitFor(contract, ticket.priority, this.o.policy) : null;
    const r = await this.o.store.leaseTrunk(ticket, trunk.trunkId, limit, tenantLimit);
    if (!r.taken) {
      this.o.metrics.rejected('trunk-channels', ticket.priority);
      return refusal(503, 'trunk-channels', this.o.policy.retryAfterSeconds.trunkChannels);
    }
    this.held.set(key(r.ticket), r.ticket);
    return { admit: true, ticket: r.ticket };
  }

  /** Gives back the trunk channel only (the call tries another trunk). */
  async releaseTrunk(ticket: AdmissionTicket): Promise<AdmissionTicket> {
    const t = await this.o.store.releaseTrunk(ticket);
    if (this.held.has(key(t))) this.held.set(key(t), t);
    return t;
  }

  /** The call was answered (it counts as complete for the flood guard). Never throws. */
  async markAnswered(ticket: AdmissionTicket): Promise<void> {
    try {
      await this.o.store.markAnswered(ticket);
    } catch (err) {
      this.o.log.warn({ err, callId: ticket.callId }, 'could not record an answered call for the flood guard');
    }
  }

  /**
   * Releases every lease of the call and records for the flood guard whether it was answered.
   * Idempotent; never throws (a lease left behind expires).
   */
  async release(ticket: AdmissionTicket, o: { answered?: boolean } = {}): Promise<void> {
    const k = key(ticket);
    const current = this.held.get(k) ?? ticket;
    this.held.delete(k);
    this.o.metrics.setLeasesHeld(this.held.size);
    try {
      await this.o.store.release(current, o);
    } catch (err) {
      this.o.log.warn({ err, callId: ticket.callId }, 'could not release admission lease; it will expire');
    }
  }

  /** REGISTER rate cap per source address. Redis trouble lets the REGISTER through. */
  async admitRegister(source: string): Promise<{ allowed: true } | { allowed: false; retryAfter: number; headers: Record<string, string> }> {
    const { perSecond, burst } = this.o.register;
    if (perSecond <= 0) return { allowed: true };
    try {
      const r = await this.o.store.takeRegisterToken(source, { perSecond, burst });
      if (r.allowed) return { allowed: true };
      this.o.metrics.registerRejected();
      return { allowed: false, retryAfter: r.retryAfter, headers: rejectionHeaders({ reason: 'rate-limit', retryAfter: r.retryAfter }) };
    } catch (err) {
      this.o.log.warn({ err }, 'REGISTER rate cap unavailable');
      return { allowed: true };
    }
  }

  /** Renews every held lease now (also run by the timer). */
  async renewNow(): Promise<void> {
    if (this.renewing || this.held.size === 0) return;
    this.renewing = true;
    try {
      const lost = await this.o.store.renew([...this.held.values()]);
      if (lost.length > 0) {
        this.o.metrics.leasesLost(lost.length);
        this.o.log.warn({ lost: lost.length }, 'admission leases expired before renewal (process stalled?)');
        const lostSet = new Set(lost);
        for (const [k, t] of this.held) if (lostSet.has(t.callId)) this.held.delete(k);
        this.o.metrics.setLeasesHeld(this.held.size);
      }
    } catch (err) {
      this.o.log.warn({ err }, 'admission lease renewal failed');
    } finally {
      this.renewing = false;
    }
  }

  /** Sweeps expired leases of every tenant now (also run by the timer). */
  async sweepNow(): Promise<void> {
    if (this.sweeping) return;
    this.sweeping = true;
    try {
      const r = await this.o.store.sweepAll();
      if (r.ports > 0) {
        this.o.metrics.leasesSwept(r.ports);
        this.o.log.info({ ports: r.ports, channels: r.channels }, 'swept expired admission leases');
      }
    } catch (err) {
      this.o.log.warn({ err }, 'admission lease sweep failed');
    } finally {
      this.sweeping = false;
    }
  }

  private async priorityNumbers(tenantId: string): Promise<ReadonlySet<string>> {
    const now = Date.now();
    const hit = this.priorityCache.get(tenantId);
    if (hit && now - hit.at < (this.o.priorityCacheMs ?? 1000)) return hit.numbers;
    try {
      const numbers = await this.o.store.priorityNumbersFor(tenantId);
      if (this.priorityCache.size > 10_000) this.priorityCache.clear();
      this.priorityCache.set(tenantId, { at: now, numbers });
      return numbers;
    } catch (err) {
      this.o.log.warn({ err, tenantId }, 'could not read priority numbers; using the last known');
      return hit?.numbers ?? new Set();
    }
  }
}

const key = (t: AdmissionTicket): string => `${t.tenantId}\u0000${t.callId}`;
