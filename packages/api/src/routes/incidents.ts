/**
 * Incidents (障害情報), probe states, per-tenant availability and Article 33 SLA evidence
 * (docs/operations.md, "Probes and incidents" and "SLA and Article 33").
 * - operators: list, open (manual), read and update incidents (cause, actions, impact, end); probe states;
 *   a tenant's SLA settings (monthly fee).
 * - tenants and operators: the incidents that affected the tenant, its availability timeline and SLA per month.
 * Times are ISO 8601 (UTC) in and out.
 */
import { jstMonthEndMs, jstMonthStartMs, slaForMonth, type SlaMonth } from '@kumo/domain';
import { KumoError } from '@kumo/runtime';
import { IncidentStore, affectsTenant, periodOf, type Incident, type IncidentImpact, type IncidentPatch } from '@kumo/store';
import type { FastifyRequest } from 'fastify';
import { actorOf, defineRoutes, tenantOf } from '../context.js';
import { errors } from '../schemas.js';
import { epochMs, iso, isoOrNull, monthParam, obj } from '../ops/params.js';

const str = (maxLength: number) => ({ type: 'string', maxLength }) as const;
const ts = { type: 'string', format: 'date-time' } as const;
const tsOrNull = { type: ['string', 'null'], format: 'date-time' } as const;
const int = { type: 'integer' } as const;

const impactS = obj({
  tenants: { anyOf: [{ type: 'string', enum: ['all'] }, { type: 'array', items: str(64), maxItems: 10000 }] },
  ports: { type: ['integer', 'null'], minimum: 0 },
  scope: { type: 'string', enum: ['full', 'partial'], description: 'full: the tenants could not use the service at all' },
});
const incidentS = obj({
  id: str(32),
  title: str(300),
  origin: { type: 'string', enum: ['auto', 'manual'] },
  probe: { type: ['string', 'null'] },
  state: { type: 'string', enum: ['open', 'resolved'] },
  start: ts,
  detectedAt: ts,
  end: tsOrNull,
  cause: str(4000),
  actions: { type: 'array', items: obj({ at: ts, by: str(100), text: str(4000) }) },
  impact: impactS,
  attributable: { type: 'boolean', description: 'false: outside the operator\'s responsibility (not counted for Article 33)' },
  createdBy: str(100),
  updatedAt: ts,
});
const createS = obj(
  {
    title: { type: 'string', minLength: 1, maxLength: 300 },
    start: ts,
    detectedAt: ts,
    end: tsOrNull,
    cause: str(4000),
    impact: impactS,
    attributable: { type: 'boolean' },
  },
  ['title', 'start', 'impact'],
);
const patchS = obj(
  {
    title: { type: 'string', minLength: 1, maxLength: 300 },
    start: ts,
    detectedAt: ts,
    end: tsOrNull,
    cause: str(4000),
    impact: impactS,
    attributable: { type: 'boolean' },
    action: { type: 'string', minLength: 1, maxLength: 4000, description: 'appended to the action log' },
  },
  [],
);
const probeS = obj({
  key: str(300), kind: str(32), target: str(300), ok: { type: 'boolean' }, since: ts, consecutiveFailures: int,
  lastCheckedAt: ts, lastError: { type: ['string', 'null'] }, lastMs: { type: ['integer', 'null'] }, incidentId: { type: ['string', 'null'] },
});
const periodS = obj({
  incidentId: str(32), title: str(300), scope: { type: 'string', enum: ['full', 'partial'] }, attributable: { type: 'boolean' },
  start: ts, detectedAt: ts, end: tsOrNull, from: ts, to: ts,
});
const slaS = obj({
  monthlyFeeYen: { type: ['integer', 'null'] },
  unavailableSeconds: int,
  availability: { type: 'number' },
  runs: {
    type: 'array',
    items: obj({
      from: ts, to: ts, open: { type: 'boolean' }, durationSeconds: int, qualifies: { type: 'boolean', description: '≥ 48 h: Article 33 applies' },
      incidentIds: { type: 'array', items: str(32) }, inMonthSeconds: int, compensableHours: int, claimDeadline: { type: ['string', 'null'], description: 'JST date' },
    }),
  },
  compensableHours: int,
  compensationCeilingYen: { type: ['integer', 'null'], description: 'null until the monthly fee is set' },
  claimDeadline: { type: ['string', 'null'], description: 'JST date YYYY-MM-DD' },
});
const availabilityS = obj({ tenantId: str(64), month: str(7), from: ts, to: ts, availability: { type: 'number' }, periods: { type: 'array', items: periodS }, sla: slaS });


export function incidentView(i: Incident) {
  return {
    ...i,
    start: iso(i.start),
    detectedAt: iso(i.detectedAt),
    end: isoOrNull(i.end),
    actions: i.actions.map((a) => ({ ...a, at: iso(a.at) })),
    impact: { ...i.impact, tenants: i.impact.tenants === 'all' ? 'all' : [...i.impact.tenants] },
    updatedAt: iso(i.updatedAt),
  };
}


const who = (req: FastifyRequest): string => {
  const a = actorOf(req);
  return `${a.role}:${a.keyId}`;
};

type Body = { title: string; start: string; detectedAt?: string; end?: string | null; cause?: string; impact: IncidentImpact; attributable?: boolean };
type Patch = Partial<Omit<Body, 'impact'>> & { impact?: IncidentImpact; action?: string };

/** Operator routes: `/v1/ops/incidents…`, `/v1/ops/probes`. */
export const incidentOperatorRoutes = defineRoutes((app, { redis, keys }) => {
  const store = new IncidentStore(redis, keys);
  const listQ = obj(
    {
      state: { type: 'string', enum: ['open', 'resolved'] },
      tenant: str(64),
      from: ts,
      to: ts,
      limit: { type: 'string', pattern: '^[0-9]{1,4}$' },
    },
    [],
  );

  app.get<{ Querystring: { state?: 'open' | 'resolved'; tenant?: string; from?: string; to?: string; limit?: string } }>(
    '/ops/incidents',
    { schema: { tags: ['operator'], summary: 'Incidents (障害情報), newest first, optionally open/resolved, affecting a tenant, overlapping a period', querystring: listQ, response: { 200: obj({ items: { type: 'array', items: incidentS } }), ...errors(403) } } },
    async (req) => {
      const q = req.query;
      const items = await store.list({
        ...(q.state !== undefined ? { state: q.state } : {}),
        ...(q.tenant !== undefined ? { tenantId: q.tenant } : {}),
        ...(q.from !== undefined ? { from: epochMs(q.from, 'from') } : {}),
        ...(q.to !== undefined ? { to: epochMs(q.to, 'to') } : {}),
        limit: q.limit === undefined ? 100 : Math.min(1000, Math.max(1, Number(q.limit))),
      });
      return { items: items.map(incidentView) };
    },
  );

  app.post<{ Body: Body }>(
    '/ops/incidents',
    { schema: { tags: ['operator'], summary: 'Open a manual incident (a fault report, an outage seen by other means)', body: createS, response: { 201: incidentS, ...errors(403) } } },
    async (req, reply) => {
      const b = req.body;
      const start = epochMs(b.start, 'start');
      const inc = await store.create({
        title: b.title,
        origin: 'manual',
        start,
        detectedAt: b.detectedAt !== undefined ? epochMs(b.detectedAt, 'detectedAt') : Date.now(),
        end: b.end == null ? null : epochMs(b.end, 'end'),
        ...(b.cause !== undefined ? { cause: b.cause } : {}),
        impact: b.impact,
        ...(b.attributable !== undefined ? { attributable: b.attributable } : {}),
        createdBy: who(req),
      });
      return reply.code(201).send(incidentView(inc));
    },
  );

  app.get<{ Params: { id: string } }>(
    '/ops/incidents/:id',
    { schema: { tags: ['operator'], summary: 'One incident', params: obj({ id: str(32) }), response: { 200: incidentS, ...errors(403) } } },
    async (req) => {
      const i = await store.get(req.params.id);
      if (i === null) throw new KumoError('KUMO_ERR_NOT_FOUND', `incident ${req.params.id} not found`);
      return incidentView(i);
    },
  );

  app.patch<{ Params: { id: string }; Body: Patch }>(
    '/ops/incidents/:id',
    { schema: { tags: ['operator'], summary: 'Update an incident: cause, impact, times, an action (appended), `end` to resolve (null reopens)', params: obj({ id: str(32) }), body: patchS, response: { 200: incidentS, ...errors(403) } } },
    async (req) => {
      const b = req.body;
      const patch: IncidentPatch = {
        ...(b.title !== undefined ? { title: b.title } : {}),
        ...(b.cause !== undefined ? { cause: b.cause } : {}),
        ...(b.start !== undefined ? { start: epochMs(b.start, 'start') } : {}),
        ...(b.detectedAt !== undefined ? { detectedAt: epochMs(b.detectedAt, 'detectedAt') } : {}),
        ...(b.end !== undefined ? { end: b.end === null ? null : epochMs(b.end, 'end') } : {}),
        ...(b.impact !== undefined ? { impact: b.impact } : {}),
        ...(b.attributable !== undefined ? { attributable: b.attributable } : {}),
        ...(b.action !== undefined ? { action: b.action } : {}),
      };
      return incidentView(await store.update(req.params.id, patch, who(req)));
    },
  );

  app.get(
    '/ops/probes',
    { schema: { tags: ['operator'], summary: 'Synthetic probe states (engines, Redis, billing lag, trunk gateways)', response: { 200: obj({ items: { type: 'array', items: probeS } }), ...errors(403) } } },
    async () => {
      const states = await store.probeStates();
      return {
        items: Object.entries(states)
          .sort(([a], [b]) => (a < b ? -1 : 1))
          .map(([key, s]) => ({ key, ...s, since: iso(s.since), lastCheckedAt: iso(s.lastCheckedAt) })),
      };
    },
  );
});

/** Availability and SLA of one tenant's JST month (also used by the operation report). */
export async function tenantAvailability(store: IncidentStore, tenantId: string, month: string, now = Date.now()) {
  const from = jstMonthStartMs(month);
  const to = jstMonthEndMs(month);
  const incidents = (await store.overlapping(from, to)).filter((i) => affectsTenant(i, tenantId)).sort((a, b) => a.start - b.start);
  const { monthlyFeeYen } = await store.slaSettings(tenantId);
  // Runs may begin in the previous month: read those too so the 48 h test sees the whole run.
  const sla: SlaMonth = slaForMonth(month, monthlyFeeYen ?? 0, (await store.overlapping(from - 31 * 86_400_000, to)).filter((i) => affectsTenant(i, tenantId)).map(periodOf), now);
  return {
    incidents,
    view: {
      tenantId,
      month,
      from: iso(from),
      to: iso(to),
      availability: sla.availability,
      periods: incidents.map((i) => ({
        incidentId: i.id, title: i.title, scope: i.impact.scope, attributable: i.attributable,
        start: iso(i.start), detectedAt: iso(i.detectedAt), end: isoOrNull(i.end),
        from: iso(Math.max(i.start, from)), to: iso(Math.min(i.end ?? now, to)),
      })),
      sla: {
        monthlyFeeYen,
        unavailableSeconds: Math.round(sla.unavailableMs / 1000),
        availability: sla.availability,
        runs: sla.runs.map((r) => ({
          from: iso(r.from), to: iso(r.to), open: r.open, durationSeconds: Math.round(r.durationMs / 1000), qualifies: r.qualifies,
          incidentIds: [...r.incidentIds], inMonthSeconds: Math.round(r.inMonthMs / 1000), compensableHours: r.compensableHours, claimDeadline: r.claimDeadline,
        })),
        compensableHours: sla.compensableHours,
        compensationCeilingYen: monthlyFeeYen === null ? null : sla.compensationCeilingYen,
        claimDeadline: sla.claimDeadline,
      },
    },
  };
}

/** Tenant routes: `/v1/tenants/:tenantId/incidents`, `/availability/:month`, `/sla-settings`. */
export const incidentTenantRoutes = defineRoutes((app, { redis, keys }) => {
  const store = new IncidentStore(redis, keys);
  const tp = obj({ tenantId: str(64) });
  const mp = obj({ tenantId: str(64), month: { type: 'string', maxLength: 16, description: 'YYYY-MM (Asia/Tokyo) or `current`' } });

  app.get<{ Params: { tenantId: string }; Querystring: { state?: 'open' | 'resolved' } }>(
    '/incidents',
    { schema: { tags: ['tenant'], summary: 'Incidents that affected this tenant (障害発生情報), newest first', params: tp, querystring: obj({ state: { type: 'string', enum: ['open', 'resolved'] } }, []), response: { 200: obj({ items: { type: 'array', items: incidentS } }), ...errors() } } },
    async (req) => ({ items: (await store.list({ tenantId: tenantOf(req).id, ...(req.query.state ? { state: req.query.state } : {}) })).map(incidentView) }),
  );

  app.get<{ Params: { tenantId: string; month: string } }>(
    '/availability/:month',
    { schema: { tags: ['tenant'], summary: 'Availability timeline and Article 33 SLA evidence of a JST month', params: mp, response: { 200: availabilityS, ...errors() } } },
    async (req) => (await tenantAvailability(store, tenantOf(req).id, monthParam(req.params.month))).view,
  );

  const slaSettingsS = obj({ monthlyFeeYen: { type: ['integer', 'null'], minimum: 0, maximum: 1e12, description: 'monthly fee in whole yen (Article 33 compensation basis)' } });
  app.get(
    '/sla-settings',
    { schema: { tags: ['tenant'], summary: 'SLA settings (the monthly fee Article 33 divides)', params: tp, response: { 200: slaSettingsS, ...errors() } } },
    async (req) => store.slaSettings(tenantOf(req).id),
  );
  app.put<{ Body: { monthlyFeeYen: number | null } }>(
    '/sla-settings',
    { config: { operatorOnly: true }, schema: { tags: ['operator'], summary: 'Set the SLA settings (operators)', params: tp, body: slaSettingsS, response: { 200: slaSettingsS, ...errors(403) } } },
    async (req) => {
      const s = { monthlyFeeYen: req.body.monthlyFeeYen };
      await store.setSlaSettings(tenantOf(req).id, s);
      return s;
    },
  );
});
