/**
 * The synthetic prober (docs/operations.md, "Probes and incidents"). Runs inside `kumo api`; one prober per
 * installation holds a Redis lease, the others stand by. Each round probes every engine (SIP OPTIONS),
 * Redis (PING), the billing lag and every trunk gateway (the sip pinger's state in Redis), updates the probe
 * states, and opens or closes automatic incidents; every `deepIntervalMs` the probe account also registers
 * (digest) and places a test call loop through each engine. It also refreshes `kumo_admission_restricted_tenants`.
 */
import { randomBytes } from 'node:crypto';
import type { ConfigOf, opsSpec, SipListen } from '@kumo/config';
import { gatewayIdentity, type Gateway } from '@kumo/domain';
import { REGISTRATION_STATES, REGISTRATION_TRANSPORTS, type Logger, type OpsMetrics, type ProbeKind } from '@kumo/runtime';
import {
  BILLING_GROUP, DirectoryRepo, GatewayHealthStore, IncidentStore, LocationStore, ensureProbeAccount,
  type IncidentImpact, type KeySchema, type ProbeAccount, type RedisClient, type SecretBox,
} from '@kumo/store';
import { INITIAL_STATE, nextState, type TargetState } from './probe-state.js';
import { SipProbeClient } from './sip-probe.js';

export type ProberSettings = Omit<ConfigOf<typeof opsSpec>, 'probe'>;

export interface ProberOptions {
  readonly redis: RedisClient;
  readonly keys: KeySchema;
  readonly log: Logger;
  readonly metrics: OpsMetrics;
  readonly settings: ProberSettings;
  readonly cdrShards: number;
  readonly now?: () => number;
  /** Seals the probe account's password in Redis (KUMO_SECRET_KEY); clear without. */
  readonly secrets?: SecretBox | undefined;
}

interface Target {
  readonly key: string;
  readonly kind: ProbeKind;
  readonly target: string;
  readonly title: string;
  /** Resolves when healthy, throws (with the reason) when not. */
  run(): Promise<void>;
  impact(): IncidentImpact;
}

interface TenantInfo {
  readonly id: string;
  readonly ports: number;
  readonly restrictionLevel: number;
  readonly gateways: readonly Pick<Gateway, 'host' | 'port' | 'transport'>[];
}

const withTimeout = <T>(p: Promise<T>, ms: number, what: string): Promise<T> =>
  new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });

const streamIdMs = (id: string): number => Number(id.split('-')[0]);
/** A binding this close to its expiry counts as `expiring` in `kumo_registrations`. */
const EXPIRING_MS = 30_000;

export class Prober {
  private readonly holder = `${process.pid}-${randomBytes(4).toString('hex')}`;
  private readonly sip = new SipProbeClient();
  private readonly store: IncidentStore;
  private readonly repo: DirectoryRepo;
  private readonly gatewayHealth: GatewayHealthStore;
  private readonly location: LocationStore;
  private account: ProbeAccount | undefined;
  private deepAt = -Infinity;
  private readonly now: () => number;
  private readonly states = new Map<string, TargetState>();
  private loaded = false;
  private tenants: TenantInfo[] = [];
  private discoveredAt = -Infinity;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly o: ProberOptions) {
    this.store = new IncidentStore(o.redis, o.keys, o.now);
    this.repo = new DirectoryRepo(o.redis, o.keys);
    this.gatewayHealth = new GatewayHealthStore(o.redis, o.keys);
    this.location = new LocationStore(o.redis, o.keys);
    this.now = o.now ?? Date.now;
  }

  start(): void {
    if (this.timer || this.closed) return;
    const tick = (): void => {
      this.running = this.round()
        .catch((err: unknown) => {
          this.o.metrics.roundErrors.inc();
          this.o.log.warn({ err }, 'probe round failed');
        })
        .finally(() => {
          this.running = undefined;
          if (!this.closed) this.timer = setTimeout(tick, this.o.settings.intervalMs);
        });
    };
    this.timer = setTimeout(tick, 0);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
    this.sip.close();
  }

  /** One probe round (exposed for tests). */
  async round(): Promise<void> {
    const s = this.o.settings;
    const leaseMs = Math.max(3 * s.intervalMs + s.timeoutMs, 15_000);
    // Redis is probed even without the lease: a prober that cannot reach Redis cannot know who holds it.
    const redisOk = await this.probeOne(this.redisTarget());
    if (!redisOk.ok) {
      await this.apply([redisOk]);
      return;
    }
    if (!(await this.store.holdProberLease(this.holder, leaseMs))) {
      this.loaded = false;
      return;
    }
    if (!this.loaded) {
      for (const [k, v] of Object.entries(await this.store.probeStates())) {
        if (!this.states.has(k)) this.states.set(k, { ok: v.ok, since: v.since, consecutiveFailures: v.consecutiveFailures, detectedAt: null, incidentId: v.incidentId });
      }
      this.loaded = true;
    }
    if (this.now() - this.discoveredAt >= s.discoveryMs) await this.discover();
    const deep = s.probeAccount && this.now() - this.deepAt >= s.deepIntervalMs;
    if (deep) {
      this.deepAt = this.now();
      // Provisioned (idempotently) on the first deep round of each lease holder; a failure is retried next time
      // and does not hold up the other probes.
      this.account ??= await ensureProbeAccount(this.o.redis, this.o.keys, this.o.secrets).catch((err: unknown) => {
        this.o.metrics.roundErrors.inc();
        this.o.log.warn({ err }, 'could not provision the probe account; deep probes skipped this round');
        return undefined;
      });
    }
    const targets = [
      ...this.engineTargets(), this.billingTarget(), ...(s.gateways ? this.gatewayTargets() : []),
      ...(deep && this.account ? this.deepTargets(this.account) : []),
    ];
    const results = [redisOk, ...(await Promise.all(targets.map((t) => this.probeOne(t))))];
    await this.apply(results);
    const open = await this.store.list({ state: 'open' });
    for (const scope of ['full', 'partial'] as const) this.o.metrics.openIncidents.set({ scope }, open.filter((i) => i.impact.scope === scope).length);
  }

  private async probeOne(t: Target): Promise<{ t: Target; ok: boolean; at: number; ms: number; error: string | null }> {
    const at = this.now();
    const t0 = performance.now();
    try {
      await t.run();
      return { t, ok: true, at, ms: performance.now() - t0, error: null };
    } catch (err) {
      return { t, ok: false, at, ms: performance.now() - t0, error: err instanceof Error ? err.message : String(err) };
    } finally {
      this.o.metrics.duration.observe({ kind: t.kind }, (performance.now() - t0) / 1000);
    }
  }

  private count(kind: ProbeKind, ok: boolean): void {
    this.o.metrics.results.inc({ kind, result: ok ? 'ok' : 'fail' });
  }

  private async apply(results: { t: Target; ok: boolean; at: number; ms: number; error: string | null }[]): Promise<void> {
    const failing = new Map<ProbeKind, number>();
    const count = new Map<ProbeKind, number>();
    for (const r of results) {
      this.count(r.t.kind, r.ok);
      count.set(r.t.kind, (count.get(r.t.kind) ?? 0) + 1);
      if (!r.ok) failing.set(r.t.kind, (failing.get(r.t.kind) ?? 0) + 1);
      const prev = this.states.get(r.t.key) ?? INITIAL_STATE;
      const tr = nextState(prev, r.ok, r.at, this.o.settings.failuresToOpen);
      let state = tr.state;
      try {
        if (tr.kind === 'open') {
          const inc = await this.store.create({
            title: r.t.title, origin: 'auto', probe: r.t.key, start: tr.start, detectedAt: tr.state.detectedAt ?? r.at,
            cause: r.error ?? '', impact: r.t.impact(), createdBy: 'prober',
          });
          state = { ...state, incidentId: inc.id };
          this.o.metrics.incidentsOpened.inc({ origin: 'auto' });
          this.o.log.warn({ incident: inc.id, probe: r.t.key, error: r.error }, 'incident opened');
        } else if (tr.kind === 'close') {
          await this.store.update(tr.incidentId, { end: tr.end, action: 'probe recovered: incident closed automatically' }, 'prober');
          this.o.log.warn({ incident: tr.incidentId, probe: r.t.key }, 'incident closed');
        } else if (tr.kind === 'record') {
          const inc = await this.store.create({
            title: r.t.title, origin: 'auto', probe: r.t.key, start: tr.start, detectedAt: tr.detectedAt, end: tr.end,
            cause: 'recorded after the outage (the incident could not be written while it lasted)', impact: r.t.impact(), createdBy: 'prober',
          });
          this.o.metrics.incidentsOpened.inc({ origin: 'auto' });
          this.o.log.warn({ incident: inc.id, probe: r.t.key }, 'incident recorded after recovery');
        }
      } catch (err) {
        // Redis unavailable: keep what is needed to retry next round (open again / close with the same end).
        if (tr.kind === 'close') state = { ...state, incidentId: tr.incidentId };
        if (tr.kind === 'record') state = { ...prev, ok: false };
        this.o.log.warn({ err, probe: r.t.key }, 'could not write the incident; retrying next round');
      }
      this.states.set(r.t.key, state);
      await this.store
        .setProbeState(r.t.key, {
          kind: r.t.kind, target: r.t.target, ok: state.ok, since: state.since, consecutiveFailures: state.consecutiveFailures,
          lastCheckedAt: r.at, lastError: r.error, lastMs: Math.round(r.ms), incidentId: state.incidentId,
        })
        .catch(() => undefined);
    }
    for (const [kind, n] of count) {
      this.o.metrics.targets.set({ kind }, n);
      this.o.metrics.failing.set({ kind }, failing.get(kind) ?? 0);
    }
  }

  // ---- targets -----------------------------------------------------------------

  private allTenants(scope: 'full' | 'partial'): IncidentImpact {
    return { tenants: 'all', ports: this.tenants.reduce((s, t) => s + t.ports, 0), scope };
  }

  private redisTarget(): Target {
    return {
      key: 'redis', kind: 'redis', target: 'redis', title: 'Redis not answering',
      run: async () => {
        await withTimeout(this.o.redis.ping(), this.o.settings.timeoutMs, 'Redis PING');
      },
      impact: () => this.allTenants('full'),
    };
  }

  /** The engines' UDP and TCP listeners (TLS is not probed). */
  private probedEngines(): (SipListen & { proto: 'udp' | 'tcp' })[] {
    return this.o.settings.engines.filter((e: SipListen): e is SipListen & { proto: 'udp' | 'tcp' } => e.proto === 'udp' || e.proto === 'tcp');
  }

  /**
   * The probe account through each engine: an authenticated REGISTER, and the test call loop (A calls B, both the
   * prober; answered, then BYE), its setup time observed. Failing with OPTIONS passing points at the sip app or Redis.
   */
  private deepTargets(acct: ProbeAccount): Target[] {
    const engines = this.probedEngines();
    const impact = (): IncidentImpact => this.allTenants(engineCount(engines) === 1 ? 'full' : 'partial');
    const a = { ...acct.a, domain: acct.domain };
    const b = { ...acct.b, domain: acct.domain };
    const timeoutMs = this.o.settings.timeoutMs;
    return engines.flatMap((e) => [
      {
        key: `engine-register:${listenerKey(e)}`, kind: 'engine-register' as const, target: listenerKey(e),
        title: `SIP engine ${listenerName(e)}: the probe account cannot register`,
        run: async () => {
          await this.sip.register({ host: e.host, port: e.port, transport: e.proto }, a, { contactUser: a.user, expires: 120, timeoutMs });
        },
        impact,
      },
      {
        key: `engine-call:${listenerKey(e)}`, kind: 'engine-call' as const, target: listenerKey(e),
        title: `SIP engine ${listenerName(e)}: the test call loop fails`,
        run: async () => {
          // Registration, call and hang-up each within the probe timeout.
          const r = await this.sip.callLoop({ host: e.host, port: e.port, transport: e.proto }, a, b, timeoutMs);
          this.o.metrics.callSetupSeconds.observe(r.setupMs / 1000);
        },
        impact,
      },
    ]);
  }

  private engineTargets(): Target[] {
    const engines = this.probedEngines();
    return engines.map((e) => ({
      key: `engine-options:${listenerKey(e)}`,
      kind: 'engine-options' as const,
      target: listenerKey(e),
      title: `SIP engine ${listenerName(e)} not answering OPTIONS`,
      run: async () => {
        await this.sip.request({ host: e.host, port: e.port, transport: e.proto }, 'OPTIONS', this.o.settings.timeoutMs);
      },
      // With one engine every tenant is cut off; with several, the others still serve.
      impact: () => this.allTenants(engineCount(engines) === 1 ? 'full' : 'partial'),
    }));
  }

  private billingTarget(): Target {
    return {
      key: 'billing-lag', kind: 'billing-lag', target: 'billing', title: 'Billing behind the CDR stream',
      run: async () => {
        const lag = await this.billingLagSeconds();
        this.o.metrics.billingLagSeconds.set(lag);
        if (lag > this.o.settings.billingLagMaxS) throw new Error(`billing lag ${Math.round(lag)} s > ${this.o.settings.billingLagMaxS} s`);
      },
      // Calls go on; only billing and reports are late.
      impact: () => ({ tenants: [], ports: 0, scope: 'partial' }),
    };
  }

  /** Age of the oldest CDR not yet acknowledged by the billing group, over every shard (0 when caught up). */
  async billingLagSeconds(): Promise<number> {
    const now = this.now();
    let oldest = now;
    for (let shard = 0; shard < this.o.cdrShards; shard++) {
      const key = this.o.keys.global.cdrStream(shard);
      let groups: unknown[];
      try {
        groups = (await this.o.redis.xinfo('GROUPS', key)) as unknown[];
      } catch {
        continue; // no stream yet
      }
      const g = groups.map((x) => x as unknown[]).find((x) => x[x.indexOf('name') + 1] === BILLING_GROUP);
      if (g === undefined) {
        const first = (await this.o.redis.xrange(key, '-', '+', 'COUNT', 1))[0];
        if (first) oldest = Math.min(oldest, streamIdMs(first[0]));
        continue;
      }
      const lastDelivered = String(g[g.indexOf('last-delivered-id') + 1]);
      const [pending, undelivered] = await Promise.all([
        this.o.redis.xpending(key, BILLING_GROUP) as Promise<[number, string | null, string | null, unknown]>,
        this.o.redis.xrange(key, `(${lastDelivered}`, '+', 'COUNT', 1),
      ]);
      if (pending[0] > 0 && pending[1] !== null) oldest = Math.min(oldest, streamIdMs(pending[1]));
      const next = undelivered[0];
      if (next) oldest = Math.min(oldest, streamIdMs(next[0]));
    }
    return Math.max(0, (now - oldest) / 1000);
  }

  /**
   * Trunk gateways, as the sip process's OPTIONS pinger sees them (`GatewayHealthStore`, the state routing uses):
   * one gateway-health signal, no second set of pings. Down there → failing here (and an incident for its tenants);
   * not pinged (yet, or a host name) → healthy.
   */
  private gatewayTargets(): Target[] {
    const byGw = new Map<string, Pick<Gateway, 'host' | 'port' | 'transport'> & { tenants: Set<string> }>();
    for (const t of this.tenants) {
      for (const g of t.gateways) {
        const key = `${g.transport}:${g.host}:${g.port}`;
        const e = byGw.get(key) ?? { ...g, tenants: new Set<string>() };
        e.tenants.add(t.id);
        byGw.set(key, e);
      }
    }
    const ports = new Map(this.tenants.map((t) => [t.id, t.ports]));
    let health: Promise<Map<string, { state: string; since: number; failures: number; lastStatus?: number }>> | undefined;
    const ids = [...byGw.values()].map((g) => gatewayIdentity(g));
    return [...byGw.entries()].map(([key, g]) => ({
      key: `gateway:${key}`,
      kind: 'gateway' as const,
      target: key,
      title: `Trunk gateway ${g.host}:${g.port} (${g.transport}) not answering`,
      run: async () => {
        health ??= this.gatewayHealth.read(ids);
        const h = (await health).get(gatewayIdentity(g));
        if (h?.state === 'down') {
          throw new Error(`down since ${new Date(h.since).toISOString()}: ${h.failures} OPTIONS pings unanswered${h.lastStatus !== undefined ? ` (last answer ${h.lastStatus})` : ''}`);
        }
      },
      impact: () => {
        const ids2 = [...g.tenants].sort();
        return { tenants: ids2, ports: ids2.reduce((s, id) => s + (ports.get(id) ?? 0), 0), scope: 'partial' };
      },
    }));
  }

  /**
   * `kumo_registrations{state,transport}`: every live binding of every tenant, `expiring` when it is within
   * `EXPIRING_MS` of its expiry (a device refreshes before that; one that has not is late, often gone), else
   * `registered`. Read from the location store's per-tenant index and bindings, in the api process, so the
   * sip processes' scrape stays cheap.
   */
  private async countRegistrations(tenantIds: readonly string[]): Promise<void> {
    const now = this.now();
    const counts = new Map<string, number>();
    const known = new Set<string>(REGISTRATION_TRANSPORTS);
    for (const id of tenantIds) {
      let after: string | undefined;
      do {
        const page = await this.location.listTenant(id, { limit: 500, nowMs: now, ...(after !== undefined ? { after } : {}) });
        for (const e of page.entries) {
          for (const b of e.bindings) {
            const state = b.expiresAt - now <= EXPIRING_MS ? 'expiring' : 'registered';
            const t = b.source.transport.toLowerCase();
            const k = `${state}|${known.has(t) ? t : 'other'}`;
            counts.set(k, (counts.get(k) ?? 0) + 1);
          }
        }
        after = page.next;
      } while (after !== undefined);
    }
    for (const state of REGISTRATION_STATES) {
      for (const transport of REGISTRATION_TRANSPORTS) this.o.metrics.registrations.set({ state, transport }, counts.get(`${state}|${transport}`) ?? 0);
    }
  }

  /** Re-reads tenants (ports, restriction level, trunk gateways); refreshes the restricted-tenants gauge. */
  private async discover(): Promise<void> {
    const out: TenantInfo[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await this.repo.listTenants({ limit: 500, ...(after !== undefined ? { after } : {}) });
      const trunks = await Promise.all(page.items.map((t) => this.repo.trunks(t.id)));
      page.items.forEach((t, i) =>
        out.push({
          id: t.id,
          ports: t.ports,
          restrictionLevel: t.restrictionLevel,
          gateways: (trunks[i] ?? []).flatMap((tr) => tr.gateways.map((g) => ({ host: g.host, port: g.port, transport: g.transport }))),
        }),
      );
      if (page.next === null) break;
      after = page.next;
    }
    this.tenants = out;
    this.discoveredAt = this.now();
    await this.countRegistrations(out.map((t) => t.id));
    for (const level of [1, 2, 3]) this.o.metrics.restrictedTenants.set({ level: String(level) }, out.filter((t) => t.restrictionLevel === level).length);
    // Forget probe states of gateways no trunk uses any more (an open incident is closed by hand).
    const live = new Set(this.gatewayTargets().map((t) => t.key));
    for (const k of this.states.keys()) {
      if (k.startsWith('gateway:') && !live.has(k) && this.states.get(k)?.incidentId == null) {
        this.states.delete(k);
        await this.store.deleteProbeState(k);
      }
    }
  }
}

/**
 * A probed listener in probe keys and targets: `host:port` for UDP (as before TCP was probed), `tcp:host:port` for
 * TCP, so both listeners of one engine have probes of their own.
 */
function listenerKey(e: SipListen): string {
  return e.proto === 'udp' ? `${e.host}:${e.port}` : `${e.proto}:${e.host}:${e.port}`;
}

function listenerName(e: SipListen): string {
  return `${e.host}:${e.port} (${e.proto.toUpperCase()})`;
}

/** Engines, not listeners: one engine usually listens on UDP and TCP at one address. */
function engineCount(engines: readonly SipListen[]): number {
  return new Set(engines.map((e) => `${e.host}:${e.port}`)).size;
}
