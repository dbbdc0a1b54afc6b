/**
 * Incidents (障害) and probe state in Redis (docs/operations.md, "Probes and incidents").
 * Incidents are few (a handful a month), so they live in one global hash with a start-time index;
 * every read of a month's incidents is one ZRANGEBYSCORE + HMGET.
 */
import type { UnavailabilityPeriod } from '@kumo/domain';
import { KumoError } from '@kumo/runtime';
import type { RedisClient } from '../client.js';
import type { KeySchema } from '../keys.js';

export type IncidentScope = 'full' | 'partial';

export interface IncidentImpact {
  /** `all` or the tenant ids affected. */
  readonly tenants: 'all' | readonly string[];
  /** Ports affected (sum of the affected tenants' contract ports at opening); null when unknown. */
  readonly ports: number | null;
  /** `full`: the tenants could not use the service at all; `partial`: degraded. */
  readonly scope: IncidentScope;
}

export interface IncidentAction {
  readonly at: number;
  readonly by: string;
  readonly text: string;
}

export interface Incident {
  readonly id: string;
  readonly title: string;
  readonly origin: 'auto' | 'manual';
  /** The probe target that opened it (auto incidents). */
  readonly probe: string | null;
  readonly state: 'open' | 'resolved';
  /** When the fault began (first failed probe, or as reported). Epoch ms. */
  readonly start: number;
  /** When the operator learned of it (the Article 33 clock starts here). */
  readonly detectedAt: number;
  readonly end: number | null;
  readonly cause: string;
  readonly actions: readonly IncidentAction[];
  readonly impact: IncidentImpact;
  /** False for causes outside the operator's responsibility (Article 33 does not count them). */
  readonly attributable: boolean;
  readonly createdBy: string;
  readonly updatedAt: number;
}

export interface NewIncident {
  readonly title: string;
  readonly origin: 'auto' | 'manual';
  readonly probe?: string | null;
  readonly start: number;
  readonly detectedAt: number;
  readonly end?: number | null;
  readonly cause?: string;
  readonly impact: IncidentImpact;
  readonly attributable?: boolean;
  readonly createdBy: string;
}

export interface IncidentPatch {
  readonly title?: string;
  readonly cause?: string;
  readonly start?: number;
  readonly detectedAt?: number;
  /** Setting `end` resolves the incident; `null` reopens it. */
  readonly end?: number | null;
  readonly impact?: IncidentImpact;
  readonly attributable?: boolean;
  /** Appended to the action log. */
  readonly action?: string;
}

export function affectsTenant(i: Incident, tenantId: string): boolean {
  return i.impact.tenants === 'all' || i.impact.tenants.includes(tenantId);
}

/** The incident as an Article 33 period for one tenant. */
export function periodOf(i: Incident): UnavailabilityPeriod {
  return { incidentId: i.id, start: i.start, detectedAt: i.detectedAt, end: i.end, scope: i.impact.scope, attributable: i.attributable };
}

export class IncidentStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: KeySchema,
    private readonly now: () => number = Date.now,
  ) {}

  async create(n: NewIncident): Promise<Incident> {
    if (n.end != null && n.end < n.start) throw new KumoError('KUMO_ERR_VALIDATION', 'end must not be before start', { problems: [{ field: 'end', message: 'before start' }] });
    const seq = await this.redis.incr(this.keys.global.opsIncidentSeq());
    const id = `INC-${String(seq).padStart(6, '0')}`;
    const end = n.end ?? null;
    const inc: Incident = {
      id,
      title: n.title,
      origin: n.origin,
      probe: n.probe ?? null,
      state: end === null ? 'open' : 'resolved',
      start: n.start,
      detectedAt: Math.max(n.start, n.detectedAt),
      end,
      cause: n.cause ?? '',
      actions: [],
      impact: n.impact,
      attributable: n.attributable ?? true,
      createdBy: n.createdBy,
      updatedAt: this.now(),
    };
    await this.write(inc);
    return inc;
  }

  private async write(i: Incident): Promise<void> {
    const g = this.keys.global;
    await Promise.all([this.redis.hset(g.opsIncidents(), i.id, JSON.stringify(i)), this.redis.zadd(g.opsIncidentIndex(), i.start, i.id)]);
  }

  async get(id: string): Promise<Incident | null> {
    const v = await this.redis.hget(this.keys.global.opsIncidents(), id);
    return v === null ? null : (JSON.parse(v) as Incident);
  }

  async update(id: string, p: IncidentPatch, by: string): Promise<Incident> {
    const cur = await this.get(id);
    if (cur === null) throw new KumoError('KUMO_ERR_NOT_FOUND', `incident ${id} not found`);
    const end = p.end === undefined ? cur.end : p.end;
    const start = p.start ?? cur.start;
    if (end !== null && end < start) throw new KumoError('KUMO_ERR_VALIDATION', 'end must not be before start', { problems: [{ field: 'end', message: 'before start' }] });
    const next: Incident = {
      ...cur,
      title: p.title ?? cur.title,
      cause: p.cause ?? cur.cause,
      start,
      detectedAt: Math.max(start, p.detectedAt ?? cur.detectedAt),
      end,
      state: end === null ? 'open' : 'resolved',
      impact: p.impact ?? cur.impact,
      attributable: p.attributable ?? cur.attributable,
      actions: p.action !== undefined ? [...cur.actions, { at: this.now(), by, text: p.action }] : cur.actions,
      updatedAt: this.now(),
    };
    if (start !== cur.start) await this.redis.zadd(this.keys.global.opsIncidentIndex(), start, id);
    await this.write(next);
    return next;
  }

  /**
   * Incidents overlapping [from, to): started before `to` and not ended before `from`. Scans the index
   * from the start of time to `to` (incidents are few); open ones always overlap.
   */
  async overlapping(from: number, to: number): Promise<Incident[]> {
    const g = this.keys.global;
    const ids = await this.redis.zrangebyscore(g.opsIncidentIndex(), '-inf', `(${to}`);
    if (ids.length === 0) return [];
    const vals = await this.redis.hmget(g.opsIncidents(), ...ids);
    const out: Incident[] = [];
    for (const v of vals) {
      if (v === null) continue;
      const i = JSON.parse(v) as Incident;
      if (i.end === null || i.end > from) out.push(i);
    }
    return out;
  }

  async list(o: { state?: 'open' | 'resolved'; from?: number; to?: number; tenantId?: string; limit?: number } = {}): Promise<Incident[]> {
    const all = await this.overlapping(o.from ?? 0, o.to ?? Number.MAX_SAFE_INTEGER);
    return all
      .filter((i) => (o.state === undefined || i.state === o.state) && (o.tenantId === undefined || affectsTenant(i, o.tenantId)))
      .sort((a, b) => b.start - a.start)
      .slice(0, o.limit ?? 1000);
  }

  // ---- probe state -------------------------------------------------------------

  async probeStates(): Promise<Record<string, ProbeState>> {
    const h = await this.redis.hgetall(this.keys.global.opsProbeState());
    const out: Record<string, ProbeState> = {};
    for (const [k, v] of Object.entries(h)) out[k] = JSON.parse(v) as ProbeState;
    return out;
  }

  async setProbeState(key: string, s: ProbeState): Promise<void> {
    await this.redis.hset(this.keys.global.opsProbeState(), key, JSON.stringify(s));
  }

  async deleteProbeState(key: string): Promise<void> {
    await this.redis.hdel(this.keys.global.opsProbeState(), key);
  }

  /** Takes or renews the prober lease (one prober per installation). True while this holder has it. */
  async holdProberLease(holder: string, ttlMs: number): Promise<boolean> {
    const k = this.keys.global.opsProberLease();
    const got = await this.redis.set(k, holder, 'PX', ttlMs, 'NX');
    if (got === 'OK') return true;
    if ((await this.redis.get(k)) !== holder) return false;
    await this.redis.pexpire(k, ttlMs);
    return true;
  }

  // ---- SLA settings ------------------------------------------------------------

  async slaSettings(tenantId: string): Promise<{ monthlyFeeYen: number | null }> {
    const v = await this.redis.get(this.keys.tenant.opsSla(tenantId));
    return v === null ? { monthlyFeeYen: null } : (JSON.parse(v) as { monthlyFeeYen: number | null });
  }

  async setSlaSettings(tenantId: string, s: { monthlyFeeYen: number | null }): Promise<void> {
    await this.redis.set(this.keys.tenant.opsSla(tenantId), JSON.stringify(s));
  }
}

export interface ProbeState {
  readonly kind: string;
  readonly target: string;
  readonly ok: boolean;
  /** When the current ok/failing streak began. */
  readonly since: number;
  readonly consecutiveFailures: number;
  readonly lastCheckedAt: number;
  readonly lastError: string | null;
  readonly lastMs: number | null;
  /** The auto incident this target opened and that is still open. */
  readonly incidentId: string | null;
}
