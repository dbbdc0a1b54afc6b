/**
 * The admission repository: enforces an `AdmissionPlan` from `@kumo/domain` atomically
 * (one Lua script per decision), and keeps the leases, the flood-guard windows, the
 * restriction levels, the priority numbers and the per-tenant event stream.
 */
import type { AdmissionCounters, AdmissionPlan, CallPriority, RestrictionLevel, Rejection } from '@kumo/domain';
import { isRejectReason } from '@kumo/domain';
import { KumoError } from '@kumo/runtime';
import type { RedisClient } from '../client.js';
import type { KeySchema } from '../keys.js';
import { ADMIT, COMPLETE, LEASE_TRUNK, RELEASE, RELEASE_TRUNK, RENEW, SWEEP, TAKE_TOKEN } from './lua.js';
import { defineScripts, runScript } from './scripts.js';

export interface AdmissionStoreOptions {
  /** How long a lease lives without renewal; a crashed holder's capacity comes back after this. */
  readonly leaseTtlMs: number;
  /** Flood-guard window (needed to read the window and to expire completions). */
  readonly floodWindowMs: number;
  /** Approximate cap of each tenant's event stream. Default 1000. */
  readonly eventsMaxLen?: number;
  /** At most one limit-reached event per reason per tenant in this period. Default 10 s. */
  readonly eventGateMs?: number;
  /** Finished attempts kept per flood-guard source and outcome (bounds memory under a flood). Default 10,000. */
  readonly maxFloodAttempts?: number;
}

/** What a call holds after admission; pass it back to release, renew and mark answered. */
export interface AdmissionTicket {
  readonly tenantId: string;
  readonly callId: string;
  readonly priority: CallPriority;
  readonly trunkId?: string;
  readonly floodSource?: string;
}

export type AdmitOutcome =
  | { readonly admit: true; readonly ticket: AdmissionTicket; readonly duplicate: boolean; readonly activeCalls: number }
  | (Rejection & { readonly activeCalls: number });

export interface AdmissionEvent {
  readonly id: string;
  readonly type: string;
  /** Epoch ms. */
  readonly at: number;
  readonly fields: Readonly<Record<string, string>>;
}

/** `platform` or a tenant id. */
export type Scope = { readonly platform: true } | { readonly tenantId: string };

const asLevel = (v: string | undefined | null): RestrictionLevel => {
  const n = Number(v);
  return n === 1 || n === 2 || n === 3 ? n : 0;
};

const nowArg = (now: number | undefined): string => (now === undefined ? '' : String(Math.floor(now)));

export class AdmissionStore {
  private readonly eventsMaxLen: number;
  private readonly eventGateMs: number;
  private readonly maxFloodAttempts: number;
  private readonly leasingKnown = new Set<string>();

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: KeySchema,
    private readonly opts: AdmissionStoreOptions,
  ) {
    this.eventsMaxLen = opts.eventsMaxLen ?? 1000;
    this.eventGateMs = opts.eventGateMs ?? 10_000;
    this.maxFloodAttempts = opts.maxFloodAttempts ?? 10_000;
    defineScripts(redis, {
      kumoAdmit: ADMIT,
      kumoLeaseTrunk: LEASE_TRUNK,
      kumoRelease: RELEASE,
      kumoReleaseTrunk: RELEASE_TRUNK,
      kumoRenew: RENEW,
      kumoSweep: SWEEP,
      kumoComplete: COMPLETE,
      kumoTakeToken: TAKE_TOKEN,
    });
  }

  /**
   * Checks the plan's limits against the live counters and takes the leases, atomically.
   * Admitting the same call id twice (a retransmitted or re-routed INVITE) takes nothing more.
   * `now` is for tests; by default the Redis server's clock is used, shared by every process.
   */
  async admit(tenantId: string, callId: string, plan: AdmissionPlan, now?: number): Promise<AdmitOutcome> {
    const k = this.keys.tenant;
    const source = plan.flood?.source ?? '';
    const trunkKey = plan.trunk ? k.admissionTrunk(tenantId, plan.trunk.trunkId) : k.admissionCalls(tenantId);
    const f = plan.flood;
    const raw = (await runScript(
      this.redis,
      'kumoAdmit',
      ADMIT,
      [
        k.admissionCalls(tenantId),
        trunkKey,
        k.admissionBucket(tenantId),
        k.admissionFloodAttempts(tenantId, source),
        k.admissionFloodCompletions(tenantId, source),
        k.admissionFloodUntil(tenantId, source),
        k.admissionLease(tenantId, callId),
        k.admissionEvents(tenantId),
        k.admissionTrunks(tenantId),
        k.admissionEventGate(tenantId),
        k.admissionTrunkCalls(tenantId),
      ],
      [
        nowArg(now),
        callId,
        this.opts.leaseTtlMs,
        plan.portLimit ?? -1,
        plan.trunk?.trunkId ?? '',
        plan.trunk?.limit ?? 0,
        plan.rate?.perSecond ?? -1,
        plan.rate?.burst ?? 1,
        source,
        f?.windowMs ?? 0,
        f?.attemptThreshold ?? 0,
        f?.minCompletionRatio ?? 0,
        f?.coolingMs ?? 0,
        f?.rejectStatus ?? 503,
        plan.retryAfterSeconds.portLimit,
        plan.retryAfterSeconds.trunkChannels,
        plan.priority,
        this.eventsMaxLen,
        this.eventGateMs,
        this.maxFloodAttempts,
        plan.trunk?.tenantLimit ?? -1,
      ],
    )) as [number, string, number, number, number, number, string, string];
    const [admitted, reason, status, retryAfter, tripped, activeCalls, at] = raw;
    if (admitted === 1) {
      this.noteLeasing(tenantId);
      const ticket: AdmissionTicket = {
        tenantId,
        callId,
        priority: plan.priority,
        ...(plan.trunk ? { trunkId: plan.trunk.trunkId } : {}),
        ...(source !== '' ? { floodSource: source } : {}),
      };
      return { admit: true, ticket, duplicate: reason === 'duplicate', activeCalls };
    }
    if (!isRejectReason(reason)) throw new KumoError('KUMO_ERR_ADMISSION_SCRIPT', `admission script returned ${reason}`);
    const base = { admit: false as const, status: status as 403 | 503, reason: reason, retryAfter, activeCalls };
    return tripped === 1 && f
      ? { ...base, floodTripped: { source, until: Number(at) + f.coolingMs } }
      : base;
  }

  /** Takes a channel on a trunk chosen after admission (outbound routing, failover). */
  async leaseTrunk(
    ticket: AdmissionTicket,
    trunkId: string,
    limit: number,
    tenantLimit: number | null = null,
    now?: number,
  ): Promise<{ readonly taken: true; readonly ticket: AdmissionTicket } | { readonly taken: false; readonly channelsInUse: number }> {
    const k = this.keys.tenant;
    const t = ticket.tenantId;
    const [taken, , n] = (await runScript(
      this.redis,
      'kumoLeaseTrunk',
      LEASE_TRUNK,
      [
        k.admissionTrunk(t, trunkId),
        k.admissionLease(t, ticket.callId),
        k.admissionTrunks(t),
        k.admissionEvents(t),
        k.admissionEventGate(t),
        k.admissionTrunkCalls(t),
      ],
      [nowArg(now), ticket.callId, trunkId, limit, this.opts.leaseTtlMs, this.eventsMaxLen, this.eventGateMs, tenantLimit ?? -1],
    )) as [number, string, number];
    if (taken !== 1) return { taken: false, channelsInUse: n };
    this.noteLeasing(t);
    return { taken: true, ticket: { ...ticket, trunkId } };
  }

  /** Gives back the ticket's trunk channel only (the call goes on, e.g. to the next trunk). */
  async releaseTrunk(ticket: AdmissionTicket): Promise<AdmissionTicket> {
    if (ticket.trunkId === undefined) return ticket;
    const k = this.keys.tenant;
    await runScript(
      this.redis,
      'kumoReleaseTrunk',
      RELEASE_TRUNK,
      [
        k.admissionTrunk(ticket.tenantId, ticket.trunkId),
        k.admissionLease(ticket.tenantId, ticket.callId),
        k.admissionTrunkCalls(ticket.tenantId),
      ],
      [ticket.callId],
    );
    const { trunkId: _dropped, ...rest } = ticket;
    return rest;
  }

  /**
   * The call was answered: it counts as a completion for its flood-guard source (also done by
   * `release(ticket, { answered: true })`; calling both is harmless).
   */
  async markAnswered(ticket: AdmissionTicket, now?: number): Promise<void> {
    if (ticket.floodSource === undefined) return;
    await runScript(
      this.redis,
      'kumoComplete',
      COMPLETE,
      [this.keys.tenant.admissionFloodCompletions(ticket.tenantId, ticket.floodSource)],
      [nowArg(now), ticket.callId, this.opts.floodWindowMs],
    );
  }

  /**
   * Releases every lease of the call; idempotent. Resolves true when a port was still held.
   * The first release records the call's ending for its flood-guard source: answered or not.
   */
  async release(ticket: AdmissionTicket, o: { answered?: boolean; now?: number } = {}): Promise<boolean> {
    const k = this.keys.tenant;
    const t = ticket.tenantId;
    const lease = k.admissionLease(t, ticket.callId);
    const src = ticket.floodSource;
    const held = await runScript(
      this.redis,
      'kumoRelease',
      RELEASE,
      [
        k.admissionCalls(t),
        lease,
        ticket.trunkId !== undefined ? k.admissionTrunk(t, ticket.trunkId) : lease,
        k.admissionTrunkCalls(t),
        src !== undefined ? k.admissionFloodAttempts(t, src) : lease,
        src !== undefined ? k.admissionFloodCompletions(t, src) : lease,
      ],
      [
        ticket.callId,
        ticket.trunkId !== undefined ? '1' : '0',
        src ?? '',
        o.answered === true ? '1' : '0',
        nowArg(o.now),
        this.opts.floodWindowMs,
        this.maxFloodAttempts,
      ],
    );
    return held === 1;
  }

  /** Releases a call known only by id (e.g. from another process), using its lease record. */
  async releaseByCallId(tenantId: string, callId: string): Promise<boolean> {
    const trunk = await this.redis.hget(this.keys.tenant.admissionLease(tenantId, callId), 'trunk');
    return this.release({ tenantId, callId, priority: 'normal', ...(trunk ? { trunkId: trunk } : {}) });
  }

  /** Extends the leases of calls in progress (one script per tenant). Returns the call ids whose leases were already lost. */
  async renew(tickets: readonly AdmissionTicket[], now?: number): Promise<string[]> {
    const byTenant = new Map<string, AdmissionTicket[]>();
    for (const t of tickets) {
      const list = byTenant.get(t.tenantId);
      if (list) list.push(t);
      else byTenant.set(t.tenantId, [t]);
    }
    const k = this.keys.tenant;
    const lost: string[] = [];
    await Promise.all(
      [...byTenant].map(async ([tenantId, list]) => {
        for (let i = 0; i < list.length; i += 200) {
          const chunk = list.slice(i, i + 200);
          const keys = [k.admissionCalls(tenantId), k.admissionTrunkCalls(tenantId)];
          const args: (string | number)[] = [nowArg(now), this.opts.leaseTtlMs];
          for (const t of chunk) {
            const rec = k.admissionLease(tenantId, t.callId);
            keys.push(rec, t.trunkId !== undefined ? k.admissionTrunk(tenantId, t.trunkId) : rec);
            args.push(t.callId, t.trunkId !== undefined ? '1' : '0');
          }
          const r = (await runScript(this.redis, 'kumoRenew', RENEW, keys, args)) as string[];
          lost.push(...r);
        }
      }),
    );
    return lost;
  }

  /** Removes one tenant's expired leases (a crashed process's calls). */
  async sweep(tenantId: string, now?: number): Promise<{ ports: number; channels: number }> {
    const k = this.keys.tenant;
    const trunks = await this.redis.smembers(k.admissionTrunks(tenantId));
    const [ports, channels] = (await runScript(
      this.redis,
      'kumoSweep',
      SWEEP,
      [k.admissionCalls(tenantId), k.admissionTrunks(tenantId), k.admissionTrunkCalls(tenantId), ...trunks.map((tr) => k.admissionTrunk(tenantId, tr))],
      [nowArg(now), ...trunks],
    )) as [number, number];
    return { ports, channels };
  }

  /** Sweeps every tenant that has held leases. Not for request paths. */
  async sweepAll(now?: number): Promise<{ tenants: number; ports: number; channels: number }> {
    const tenants = await this.redis.smembers(this.keys.global.admissionLeasingTenants());
    let ports = 0;
    let channels = 0;
    for (const t of tenants) {
      const r = await this.sweep(t, now);
      ports += r.ports;
      channels += r.channels;
    }
    return { tenants: tenants.length, ports, channels };
  }

  /** A snapshot of the counters `admitCall` reads (for the API's usage view and for tests). */
  async counters(tenantId: string, o: { trunkId?: string; source?: string; now: number }): Promise<AdmissionCounters> {
    const k = this.keys.tenant;
    const { now } = o;
    const from = `(${now - this.opts.floodWindowMs}`;
    const [calls, trunk, allTrunks, bucket, att, ok, until] = await Promise.all([
      this.redis.zcount(k.admissionCalls(tenantId), `(${now}`, '+inf'),
      o.trunkId !== undefined ? this.redis.zcount(k.admissionTrunk(tenantId, o.trunkId), `(${now}`, '+inf') : Promise.resolve(0),
      this.redis.zcount(k.admissionTrunkCalls(tenantId), `(${now}`, '+inf'),
      this.redis.hmget(k.admissionBucket(tenantId), 'tokens', 'ts'),
      o.source !== undefined ? this.redis.zcount(k.admissionFloodAttempts(tenantId, o.source), from, '+inf') : Promise.resolve(0),
      o.source !== undefined ? this.redis.zcount(k.admissionFloodCompletions(tenantId, o.source), from, '+inf') : Promise.resolve(0),
      o.source !== undefined ? this.redis.get(k.admissionFloodUntil(tenantId, o.source)) : Promise.resolve(null),
    ]);
    const [tokens, ts] = bucket;
    return {
      activeCalls: calls,
      trunkChannels: trunk,
      tenantTrunkChannels: allTrunks,
      ...(tokens != null && ts != null ? { bucket: { tokens: Number(tokens), updatedAt: Number(ts) } } : {}),
      flood: { attempts: att + ok, completions: ok, ...(until != null ? { throttledUntil: Number(until) } : {}) },
    };
  }

  /** REGISTER rate cap per source (token bucket). */
  async takeRegisterToken(
    source: string,
    rate: { perSecond: number; burst: number },
    now?: number,
  ): Promise<{ readonly allowed: boolean; readonly retryAfter: number }> {
    const [ok, ra] = (await runScript(
      this.redis,
      'kumoTakeToken',
      TAKE_TOKEN,
      [this.keys.global.admissionRegister(source)],
      [nowArg(now), rate.perSecond, Math.max(1, rate.burst)],
    )) as [number, number];
    return { allowed: ok === 1, retryAfter: ra };
  }

  // --- restriction levels and priority numbers (written by the api, read by every sip process) ----

  /**
   * The platform-wide restriction level (the provisioning key `restrictionLevel`, written by
   * the api's `PUT /v1/platform/restriction`). A tenant's own level is in its tenant record.
   */
  async readPlatformRestriction(): Promise<RestrictionLevel> {
    return asLevel(await this.redis.get(this.keys.global.restrictionLevel()));
  }

  /** Test and tooling helper; the api writes the level through the provisioning repository (audited). */
  async setPlatformRestriction(level: RestrictionLevel): Promise<void> {
    await this.redis.set(this.keys.global.restrictionLevel(), String(level));
  }

  private priorityKey(scope: Scope): string {
    return 'platform' in scope ? this.keys.global.admissionPriority() : this.keys.tenant.admissionPriority(scope.tenantId);
  }

  async addPriorityNumbers(scope: Scope, numbers: readonly string[]): Promise<void> {
    if (numbers.length > 0) await this.redis.sadd(this.priorityKey(scope), ...numbers);
  }

  async removePriorityNumbers(scope: Scope, numbers: readonly string[]): Promise<void> {
    if (numbers.length > 0) await this.redis.srem(this.priorityKey(scope), ...numbers);
  }

  /** Replaces the whole set atomically; returns the previous members (sorted). */
  async replacePriorityNumbers(scope: Scope, numbers: readonly string[]): Promise<string[]> {
    const key = this.priorityKey(scope);
    const tx = this.redis.multi().smembers(key).del(key);
    if (numbers.length > 0) tx.sadd(key, ...numbers);
    const res = await tx.exec();
    const before = res?.[0]?.[1];
    return Array.isArray(before) ? (before as string[]).sort() : [];
  }

  async listPriorityNumbers(scope: Scope): Promise<string[]> {
    return (await this.redis.smembers(this.priorityKey(scope))).sort();
  }

  /** Platform-wide and the tenant's own priority numbers and extensions. */
  async priorityNumbersFor(tenantId: string): Promise<Set<string>> {
    const [a, b] = await Promise.all([
      this.redis.smembers(this.keys.global.admissionPriority()),
      this.redis.smembers(this.keys.tenant.admissionPriority(tenantId)),
    ]);
    return new Set([...a, ...b]);
  }

  // --- events ---------------------------------------------------------------------------------

  async appendEvent(tenantId: string, type: string, fields: Readonly<Record<string, string>> = {}, now = Date.now()): Promise<string> {
    const flat = Object.entries(fields).flat();
    const id = await this.redis.xadd(
      this.keys.tenant.admissionEvents(tenantId),
      'MAXLEN',
      '~',
      String(this.eventsMaxLen),
      '*',
      'type',
      type,
      'at',
      String(now),
      ...flat,
    );
    return id ?? '';
  }

  /** Newest first; `before` pages back (exclusive stream id). */
  async readEvents(tenantId: string, o: { count?: number; before?: string } = {}): Promise<AdmissionEvent[]> {
    // Nothing is older than 0-0 (and Redis refuses the exclusive range `(0-0`).
    if (o.before === '0-0') return [];
    const end = o.before !== undefined ? `(${o.before}` : '+';
    const rows = await this.redis.xrevrange(this.keys.tenant.admissionEvents(tenantId), end, '-', 'COUNT', Math.min(o.count ?? 100, 1000));
    return rows.map(([id, kv]) => {
      const fields: Record<string, string> = {};
      for (let i = 0; i + 1 < kv.length; i += 2) fields[kv[i] as string] = kv[i + 1] as string;
      const { type = '', at = '0', ...rest } = fields;
      return { id, type, at: Number(at), fields: rest };
    });
  }

  private noteLeasing(tenantId: string): void {
    if (this.leasingKnown.has(tenantId)) return;
    this.leasingKnown.add(tenantId);
    this.redis.sadd(this.keys.global.admissionLeasingTenants(), tenantId).catch(() => this.leasingKnown.delete(tenantId));
  }
}
