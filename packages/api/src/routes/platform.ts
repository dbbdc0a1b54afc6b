import { validateRestrictionLevel } from '@kumo/domain';
import { KumoError } from '@kumo/runtime';
import { actorOf, defineRoutes } from '../context.js';
import { streamCursor } from '../cursors.js';
import { notFound, valid } from '../errors.js';
import { apiKeyBody, apiKeySchema, auditEntrySchema, auditQuery, auditVerificationSchema, errors, issuedKeySchema, page, parseLimit } from '../schemas.js';

const levelSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['level'],
  properties: { level: { type: 'integer', minimum: 0, maximum: 3, description: '0 = none … 3 = strictest (disasters)' } },
} as const;

/** Operator: platform-wide settings (`/v1/platform/…`). */
export const platformRoutes = defineRoutes((app, { repo, dataQuotas }) => {
  app.get(
    '/platform/restriction',
    { schema: { tags: ['operator'], summary: 'Platform-wide restriction level', response: { 200: levelSchema, ...errors(403) } } },
    async () => ({ level: await repo.platformRestrictionLevel() }),
  );

  app.put<{ Body: { level: number } }>(
    '/platform/restriction',
    {
      schema: {
        tags: ['operator'],
        summary: 'Set the platform-wide restriction level (applies to every tenant on top of its own level)',
        body: levelSchema,
        response: { 200: levelSchema, ...errors(403) },
      },
    },
    async (req) => ({ level: await repo.setPlatformRestrictionLevel(valid(validateRestrictionLevel(req.body.level)), actorOf(req)) }),
  );

  app.get<{ Querystring: { limit?: string; before?: string } }>(
    '/platform/audit',
    {
      schema: {
        tags: ['operator'],
        summary: 'Platform configuration history (newest first)',
        querystring: auditQuery,
        response: { 200: page(auditEntrySchema), ...errors(403) },
      },
    },
    async (req) => repo.audit.list(null, { before: streamCursor(req.query.before, 'before'), limit: parseLimit(req.query) }),
  );

  app.get(
    '/platform/audit/verify',
    { schema: { tags: ['operator'], summary: 'Check the platform audit hash chain', response: { 200: auditVerificationSchema, ...errors(403) } } },
    async () => repo.audit.verify(null),
  );

  // ---- data retention (docs/security.md) ----------------------------------------------------

  const retentionS = {
    type: 'object',
    additionalProperties: false,
    required: ['id', 'tenantId', 'name', 'sipDomain', 'purgedAt', 'expiresAt', 'keys'],
    properties: {
      id: { type: 'string' },
      tenantId: { type: 'string' },
      name: { type: 'string' },
      sipDomain: { type: 'string' },
      purgedAt: { type: 'integer', description: 'epoch ms' },
      expiresAt: { type: 'integer', description: 'epoch ms' },
      keys: { type: 'array', items: { type: 'string' } },
    },
  } as const;
  app.get(
    '/platform/retention',
    {
      schema: {
        tags: ['operator'],
        summary: "Retention sets: deleted tenants' billing records kept for the legal period (soonest expiry first)",
        response: { 200: { type: 'object', additionalProperties: false, required: ['items'], properties: { items: { type: 'array', items: retentionS } } }, ...errors(403) },
      },
    },
    async () => ({ items: await repo.lifecycle.listRetention() }),
  );
  app.post(
    '/platform/retention/sweep',
    {
      schema: {
        tags: ['operator'],
        summary: "Run the retention job now (it also runs on a schedule): deletes expired retention sets and per-call billing detail older than each tenant's CDR detail retention",
        response: {
          200: {
            type: 'object', additionalProperties: false, required: ['deletedSets', 'cdrDetailTrimmed'],
            properties: { deletedSets: { type: 'integer' }, cdrDetailTrimmed: { type: 'integer', description: 'calls whose per-call detail was deleted' } },
          },
          ...errors(403),
        },
      },
    },
    async (req) => {
      const deletedSets = await repo.lifecycle.sweepRetention();
      const cdrDetailTrimmed = await dataQuotas.trimCdrDetail();
      if (deletedSets > 0 || cdrDetailTrimmed > 0) await repo.audit.append(null, { actor: actorOf(req), action: 'retention.sweep', target: 'platform', after: { deletedSets, cdrDetailTrimmed } });
      return { deletedSets, cdrDetailTrimmed };
    },
  );

  // ---- operator API keys ----------------------------------------------------------------------

  app.get(
    '/platform/api-keys',
    {
      schema: {
        tags: ['operator'],
        summary: 'Operator API keys (ids and names, never the keys)',
        response: { 200: { type: 'object', additionalProperties: false, required: ['items'], properties: { items: { type: 'array', items: apiKeySchema } } }, ...errors(403) },
      },
    },
    async () => ({ items: await repo.apiKeys.list(null) }),
  );

  app.post<{ Body: { name: string } }>(
    '/platform/api-keys',
    { schema: { tags: ['operator'], summary: 'Issue another operator key (rotation). The key is in the answer only.', body: apiKeyBody, response: { 201: issuedKeySchema, ...errors(403) } } },
    async (req, reply) => {
      const issued = await repo.apiKeys.issue({ role: 'operator', name: req.body.name });
      await repo.audit.append(null, { actor: actorOf(req), action: 'apiKey.issue', target: `apiKey:${issued.record.id}`, after: issued.record });
      return reply.code(201).send({ key: issued.key, apiKey: issued.record });
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/platform/api-keys/:id',
    {
      schema: {
        tags: ['operator'],
        summary: 'Revoke an operator key (not the one making the call)',
        params: { type: 'object', properties: { id: { type: 'string', maxLength: 32 } }, required: ['id'] },
        response: { 204: { type: 'null' }, ...errors(403, 409) },
      },
    },
    async (req, reply) => {
      const rec = await repo.apiKeys.byId(req.params.id);
      if (rec === null || rec.role !== 'operator') throw notFound('apiKey', req.params.id);
      if (rec.id === req.principal?.id) throw new KumoError('KUMO_ERR_SELF_REVOCATION', 'an operator key cannot revoke itself; use another operator key');
      await repo.apiKeys.revoke(rec.id);
      await repo.audit.append(null, { actor: actorOf(req), action: 'apiKey.revoke', target: `apiKey:${rec.id}`, before: rec });
      return reply.code(204).send();
    },
  );
});
