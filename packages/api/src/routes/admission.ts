/**
 * Admission (docs/admission.md): priority numbers (operator-set, platform-wide and per
 * tenant), the tenant's admission event stream (throttling, limits reached) and its live usage.
 * Restriction levels are part of provisioning: `PUT /v1/platform/restriction` and the tenant's
 * `restrictionLevel` (`PATCH /v1/tenants/:id`).
 */
import { KumoError } from '@kumo/runtime';
import { AdmissionStore } from '@kumo/store';
import { actorOf, defineRoutes, tenantOf, type RouteContext } from '../context.js';
import { streamCursor, streamIdPattern } from '../cursors.js';
import { errors, tenantParams } from '../schemas.js';

const E164 = '^\\+[1-9][0-9]{1,14}$';
const E164_OR_EXTENSION = '^(\\+[1-9][0-9]{1,14}|[0-9]{1,8})$';

const numbersBody = (pattern: string, what: string) =>
  ({
    type: 'object',
    additionalProperties: false,
    required: ['numbers'],
    properties: {
      numbers: { type: 'array', maxItems: 1000, uniqueItems: true, items: { type: 'string', pattern }, description: what },
    },
  }) as const;

const numbersOut = {
  type: 'object',
  additionalProperties: false,
  required: ['numbers'],
  properties: { numbers: { type: 'array', items: { type: 'string' } } },
} as const;

const eventSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'type', 'at', 'fields'],
  properties: {
    id: { type: 'string', description: 'Stream id; pass as `before` to page back' },
    type: { type: 'string', description: 'incomplete-call-flood, port-limit, trunk-channels or rate-limit' },
    at: { type: 'string', format: 'date-time' },
    fields: { type: 'object', additionalProperties: { type: 'string' } },
  },
} as const;

const eventsQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    limit: { type: 'string', pattern: '^[0-9]{1,4}$', description: '1–1000, default 100' },
    before: { type: 'string', pattern: streamIdPattern, description: 'Return events older than this id' },
  },
} as const;

const usageSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['ports', 'trunkChannels', 'trunks', 'restriction'],
  properties: {
    ports: { type: 'object', required: ['limit', 'inUse'], properties: { limit: { type: 'integer' }, inUse: { type: 'integer' } } },
    trunkChannels: { type: 'object', required: ['limit', 'inUse'], properties: { limit: { type: 'integer' }, inUse: { type: 'integer' } } },
    trunks: {
      type: 'array',
      items: {
        type: 'object',
        required: ['id', 'channelLimit', 'inUse'],
        properties: { id: { type: 'string' }, channelLimit: { type: 'integer' }, inUse: { type: 'integer' } },
      },
    },
    restriction: {
      type: 'object',
      required: ['tenant', 'platform'],
      properties: { tenant: { type: 'integer' }, platform: { type: 'integer' } },
    },
  },
} as const;

function storeOf(ctx: RouteContext): AdmissionStore {
  // Lease TTL and flood window do not matter for what the API reads and writes here.
  return new AdmissionStore(ctx.redis, ctx.keys, { leaseTtlMs: 120_000, floodWindowMs: 60_000 });
}

/** Operator: platform-wide priority numbers (`/v1/admission/…`). */
export const admissionOperatorRoutes = defineRoutes((app, ctx) => {
  const store = storeOf(ctx);
  app.get(
    '/admission/priority-numbers',
    {
      schema: {
        tags: ['operator'],
        summary: 'Platform-wide priority numbers (E.164): calls to or from them pass disaster restriction and overload',
        response: { 200: numbersOut, ...errors(403) },
      },
    },
    async () => ({ numbers: await store.listPriorityNumbers({ platform: true }) }),
  );
  app.put<{ Body: { numbers: string[] } }>(
    '/admission/priority-numbers',
    {
      schema: {
        tags: ['operator'],
        summary: 'Replace the platform-wide priority numbers (e.g. disaster offices of municipalities)',
        body: numbersBody(E164, 'E.164 numbers (+81…)'),
        response: { 200: numbersOut, ...errors(403) },
      },
    },
    async (req) => {
      const numbers = [...req.body.numbers].sort();
      const before = await store.replacePriorityNumbers({ platform: true }, numbers);
      await ctx.repo.audit.append(null, { actor: actorOf(req), action: 'admission.priority-numbers', target: 'platform', before, after: numbers });
      return { numbers };
    },
  );
});

/** Per tenant (`/v1/tenants/:tenantId/admission/…`): priority numbers (operator writes), events, usage. */
export const admissionTenantRoutes = defineRoutes((app, ctx) => {
  const store = storeOf(ctx);
  app.get(
    '/admission/priority-numbers',
    {
      schema: {
        tags: ['tenant'],
        summary: "The tenant's priority numbers and extensions (set by the operator)",
        params: tenantParams,
        response: { 200: numbersOut, ...errors() },
      },
    },
    async (req) => ({ numbers: await store.listPriorityNumbers({ tenantId: tenantOf(req).id }) }),
  );
  app.put<{ Body: { numbers: string[] } }>(
    '/admission/priority-numbers',
    {
      config: { operatorOnly: true },
      schema: {
        tags: ['operator'],
        summary: "Replace the tenant's priority numbers (E.164) and extensions (operator only)",
        params: tenantParams,
        body: numbersBody(E164_OR_EXTENSION, 'E.164 numbers (+81…) or extension numbers'),
        response: { 200: numbersOut, ...errors(403) },
      },
    },
    async (req) => {
      const t = tenantOf(req);
      const numbers = [...req.body.numbers].sort();
      const before = await store.replacePriorityNumbers({ tenantId: t.id }, numbers);
      await ctx.repo.audit.append(t.id, { actor: actorOf(req), action: 'admission.priority-numbers', target: `tenant:${t.id}`, before, after: numbers });
      return { numbers };
    },
  );
  app.get<{ Querystring: { limit?: string; before?: string } }>(
    '/admission/events',
    {
      schema: {
        tags: ['tenant'],
        summary: 'Admission events, newest first: sources throttled for incomplete-call floods, limits reached',
        params: tenantParams,
        querystring: eventsQuery,
        response: {
          200: { type: 'object', additionalProperties: false, required: ['items', 'next'], properties: { items: { type: 'array', items: eventSchema }, next: { type: ['string', 'null'] } } },
          ...errors(),
        },
      },
    },
    async (req) => {
      const limit = req.query.limit === undefined ? 100 : Math.min(1000, Math.max(1, Number(req.query.limit)));
      const before = streamCursor(req.query.before, 'before');
      const rows = await store.readEvents(tenantOf(req).id, { count: limit, ...(before !== undefined ? { before } : {}) });
      return {
        items: rows.map((e) => ({ id: e.id, type: e.type, at: new Date(e.at).toISOString(), fields: e.fields })),
        next: rows.length === limit ? (rows[rows.length - 1]?.id ?? null) : null,
      };
    },
  );
  app.get(
    '/admission/usage',
    {
      schema: {
        tags: ['tenant'],
        summary: 'Calls in progress against the contract: ports, trunk channels (all trunks and each), restriction levels',
        params: tenantParams,
        response: { 200: usageSchema, ...errors() },
      },
    },
    async (req) => {
      const t = tenantOf(req);
      const now = Date.now();
      const trunks = await ctx.repo.listTrunks(t.id, { limit: 1000 });
      const [all, perTrunk, platform] = await Promise.all([
        store.counters(t.id, { now }),
        Promise.all(trunks.items.map((tr) => store.counters(t.id, { trunkId: tr.id, now }))),
        store.readPlatformRestriction(),
      ]);
      if (perTrunk.length !== trunks.items.length) throw new KumoError('KUMO_ERR_INTERNAL', 'usage read mismatch');
      return {
        ports: { limit: t.ports, inUse: all.activeCalls },
        trunkChannels: { limit: t.trunkChannels, inUse: all.tenantTrunkChannels },
        trunks: trunks.items.map((tr, i) => ({ id: tr.id, channelLimit: tr.channelLimit, inUse: perTrunk[i]?.trunkChannels ?? 0 })),
        restriction: { tenant: t.restrictionLevel, platform },
      };
    },
  );
});
