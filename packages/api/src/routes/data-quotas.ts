import { KumoError } from '@kumo/runtime';
import { MIN_CDR_DETAIL_DAYS } from '@kumo/store';
import { actorOf, defineRoutes, tenantOf } from '../context.js';
import { errors, tenantParams } from '../schemas.js';

const quotasS = {
  type: 'object',
  additionalProperties: false,
  required: ['cdrDetailRetentionDays', 'ticketsMax', 'custom', 'maxCdrDetailRetentionDays', 'usage'],
  properties: {
    cdrDetailRetentionDays: { type: 'integer', description: "Days billing's per-call detail of the tenant is kept (month totals stay)" },
    ticketsMax: { type: 'integer', description: 'Help-desk tickets the tenant may store' },
    custom: { type: 'boolean', description: "true: the tenant's own quotas; false: the platform's" },
    maxCdrDetailRetentionDays: { type: 'integer', description: "The operator's maximum retention (KUMO_CDR_DETAIL_RETENTION_MAX_DAYS)" },
    usage: {
      type: 'object', additionalProperties: false, required: ['tickets', 'auditEntries'],
      properties: { tickets: { type: 'integer' }, auditEntries: { type: 'integer' } },
    },
  },
} as const;

const putS = {
  type: 'object',
  additionalProperties: false,
  properties: {
    cdrDetailRetentionDays: { type: 'integer', minimum: MIN_CDR_DETAIL_DAYS, maximum: 36600, description: `At least ${MIN_CDR_DETAIL_DAYS}, at most the operator's maximum` },
    ticketsMax: { type: 'integer', minimum: 1, maximum: 10000000 },
  },
} as const;

/**
 * Per-tenant data quotas (`/v1/tenants/:tenantId/data-quotas`, docs/security.md, "Data quotas"): the tenant's CDR
 * detail retention and ticket cap with its usage. Tenant admins read; operators set (`null` body fields are not
 * accepted: DELETE returns the tenant to the platform's quotas).
 */
export const dataQuotaRoutes = defineRoutes((app, { redis, keys, repo, dataQuotas }) => {
  const view = async (tenantId: string) => ({
    ...(await dataQuotas.get(tenantId)),
    usage: { tickets: await redis.zcard(keys.tenant.opsTicketIndex(tenantId)), auditEntries: await repo.audit.size(tenantId) },
  });
  app.get('/data-quotas', { schema: { tags: ['tenant'], summary: "The tenant's data quotas (CDR detail retention, tickets) and usage", params: tenantParams, response: { 200: quotasS, ...errors() } } }, async (req) =>
    view(tenantOf(req).id),
  );
  app.put<{ Body: { cdrDetailRetentionDays?: number; ticketsMax?: number } }>(
    '/data-quotas',
    {
      config: { operatorOnly: true },
      schema: { tags: ['operator'], summary: "Set the tenant's own data quotas (fields left out keep the platform's)", params: tenantParams, body: putS, response: { 200: quotasS, ...errors(403) } },
    },
    async (req) => {
      const t = tenantOf(req);
      const before = await dataQuotas.get(t.id);
      const days = req.body.cdrDetailRetentionDays;
      if (days !== undefined && days > before.maxCdrDetailRetentionDays) {
        const message = `must be at most ${before.maxCdrDetailRetentionDays} days (the operator's maximum, KUMO_CDR_DETAIL_RETENTION_MAX_DAYS)`;
        throw new KumoError('KUMO_ERR_VALIDATION', `cdrDetailRetentionDays: ${message}`, { problems: [{ field: 'cdrDetailRetentionDays', message }] });
      }
      await dataQuotas.set(t.id, req.body);
      const after = await dataQuotas.get(t.id);
      await repo.audit.append(t.id, { actor: actorOf(req), action: 'dataQuotas.set', target: 'data-quotas', before, after });
      return view(t.id);
    },
  );
  app.delete(
    '/data-quotas',
    { config: { operatorOnly: true }, schema: { tags: ['operator'], summary: "Return the tenant to the platform's data quotas", params: tenantParams, response: { 200: quotasS, ...errors(403) } } },
    async (req) => {
      const t = tenantOf(req);
      const before = await dataQuotas.get(t.id);
      await dataQuotas.set(t.id, null);
      await repo.audit.append(t.id, { actor: actorOf(req), action: 'dataQuotas.reset', target: 'data-quotas', before, after: await dataQuotas.get(t.id) });
      return view(t.id);
    },
  );
});
