import { KumoError } from '@kumo/runtime';
import { TollFraudStore } from '@kumo/store';
import type { TollClass } from '@kumo/domain';
import { actorOf, defineRoutes, tenantOf } from '../context.js';
import { errors, tenantParams } from '../schemas.js';

const limitsS = {
  type: 'object',
  additionalProperties: false,
  required: ['internationalPerHour', 'premiumPerHour'],
  properties: {
    internationalPerHour: { type: 'integer', minimum: 0, maximum: 1000000, description: 'International calls per clock hour (0 = always blocked)' },
    premiumPerHour: { type: 'integer', minimum: 0, maximum: 1000000, description: 'Premium-rate / shared-cost calls (0990, 0180, 0570) per clock hour' },
    spendPerHour: {
      type: 'integer', minimum: 0, maximum: 1000000000000,
      description: 'Rated money of international and premium-rate calls together per clock hour, minor units (1/100 JPY); unset on PUT: the platform default (KUMO_TOLL_SPEND_PER_HOUR)',
    },
  },
} as const;
const classS = { type: 'string', enum: ['international', 'premium'] } as const;
const statusS = {
  type: 'object',
  additionalProperties: false,
  required: ['limits', 'custom', 'blocked', 'overrides', 'thisHour'],
  properties: {
    limits: limitsS,
    custom: { type: 'boolean', description: "true: the tenant's own limits; false: the platform default" },
    blocked: {
      type: 'array',
      items: {
        type: 'object', additionalProperties: false, required: ['cls', 'at', 'calls', 'limit'],
        properties: {
          cls: classS, at: { type: 'integer' }, reason: { type: 'string', enum: ['calls', 'spend'] }, calls: { type: 'integer' }, limit: { type: 'integer' },
          spend: { type: 'integer' }, spendLimit: { type: 'integer' },
        },
      },
    },
    overrides: { type: 'array', items: { type: 'object', additionalProperties: false, required: ['cls', 'until'], properties: { cls: classS, until: { type: 'integer' } } } },
    thisHour: {
      type: 'object', additionalProperties: false, required: ['international', 'premium', 'spend'],
      properties: { international: { type: 'integer' }, premium: { type: 'integer' }, spend: { type: 'integer', description: 'rated money of both classes this hour, minor units' } },
    },
  },
} as const;

/**
 * Toll-fraud guard (`/v1/tenants/:tenantId/toll-fraud`, docs/security.md): the tenant's limits,
 * blocks and overrides. Tenant admins read; operators set limits and lift blocks.
 * The defaults are the sip process's KUMO_TOLL_* settings; the API shows the tenant's own limits only when set.
 */
export const tollFraudRoutes = defineRoutes((app, { redis, keys, repo }) => {
  const store = new TollFraudStore(redis, keys);
  app.get('/toll-fraud', { schema: { tags: ['tenant'], summary: 'Toll-fraud guard: limits, blocked classes, overrides, calls this hour', params: tenantParams, response: { 200: statusS, ...errors() } } }, async (req) =>
    store.status(tenantOf(req).id),
  );
  app.put<{ Body: { internationalPerHour: number; premiumPerHour: number; spendPerHour?: number } }>(
    '/toll-fraud/limits',
    {
      config: { operatorOnly: true },
      schema: { tags: ['operator'], summary: "Set the tenant's own hourly toll limits", params: tenantParams, body: limitsS, response: { 200: statusS, ...errors(403) } },
    },
    async (req) => {
      const t = tenantOf(req);
      const before = await store.limits(t.id);
      const limits = req.body;
      await store.setLimits(t.id, limits);
      await repo.audit.append(t.id, { actor: actorOf(req), action: 'tollFraud.limits', target: 'toll-fraud', before: before.limits, after: limits });
      return store.status(t.id);
    },
  );
  app.post<{ Body: { class: TollClass; overrideHours?: number } }>(
    '/toll-fraud/unblock',
    {
      config: { operatorOnly: true },
      schema: {
        tags: ['operator'],
        summary: 'Lift a toll-class block; overrideHours > 0 also allows the class beyond its limit for that long',
        params: tenantParams,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['class'],
          properties: { class: classS, overrideHours: { type: 'integer', minimum: 0, maximum: 168 } },
        },
        response: { 200: statusS, ...errors(403) },
      },
    },
    async (req) => {
      const t = tenantOf(req);
      const hours = req.body.overrideHours ?? 0;
      const lifted = await store.unblock(t.id, req.body.class, hours * 3_600_000);
      if (!lifted && hours === 0) throw new KumoError('KUMO_ERR_NOT_FOUND', `${req.body.class} calls are not blocked for this tenant`);
      await repo.audit.append(t.id, { actor: actorOf(req), action: 'tollFraud.unblock', target: `toll-fraud:${req.body.class}`, after: { overrideHours: hours } });
      return store.status(t.id);
    },
  );
});
