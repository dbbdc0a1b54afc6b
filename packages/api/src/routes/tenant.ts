import { KumoError } from '@kumo/runtime';
import { contractProblems, validateTenantPatch, type TenantPatch, type TenantStatus } from '@kumo/domain';
import { actorOf, defineRoutes, tenantOf } from '../context.js';
import { notFound, valid } from '../errors.js';
import { forPrincipal } from '../hygiene.js';
import { apiKeyBody, apiKeySchema, errors, issuedKeySchema, tenantParams, tenantPatchBody, tenantSchema } from '../schemas.js';

/** One tenant (`/v1/tenants/:tenantId`): read (both roles); contract, status, deletion and keys (operators). */
export const tenantRoutes = defineRoutes((app, { repo }) => {
  const op = { operatorOnly: true } as const;

  app.get('/', { schema: { tags: ['tenant'], summary: 'The tenant and its contract (`notes` for operators only)', params: tenantParams, response: { 200: tenantSchema, ...errors() } } }, (req) =>
    forPrincipal(tenantOf(req), req.principal?.role),
  );

  app.patch<{ Body: TenantPatch }>(
    '/',
    {
      config: op,
      schema: {
        tags: ['operator'],
        summary: 'Change name, contract, restriction level or notes. `ports` cannot go below the provisioned extensions (409).',
        params: tenantParams,
        body: tenantPatchBody,
        response: { 200: tenantSchema, ...errors(403, 409) },
      },
    },
    async (req) => {
      const t = tenantOf(req);
      // Merge patch: null resets a clearable field to its default.
      const body = req.body as Record<string, unknown>;
      const patch = valid(
        validateTenantPatch({
          ...req.body,
          ...(body.restrictionLevel === null ? { restrictionLevel: 0 } : {}),
          ...(body.notes === null ? { notes: '' } : {}),
          ...(body.digestAlgorithms === null ? { digestAlgorithms: '' as const } : {}),
          ...(body.maxCallSeconds === null ? { maxCallSeconds: 0 } : {}),
        }),
      );
      // Rules between contract fields hold on the contract as it will be.
      const cross = contractProblems({ ...t, ...patch });
      if (cross.length > 0) valid({ ok: false, problems: cross });
      return repo.updateTenant(t.id, patch, actorOf(req));
    },
  );

  const statusAction = (path: string, status: TenantStatus, summary: string): void => {
    app.post(
      path,
      { config: op, schema: { tags: ['operator'], summary, params: tenantParams, response: { 200: tenantSchema, ...errors(403, 409) } } },
      async (req) => repo.setTenantStatus(tenantOf(req).id, status, actorOf(req)),
    );
  };
  statusAction('/suspend', 'suspended', 'Suspend: calls and tenant-admin writes stop; data is kept');
  statusAction('/resume', 'active', 'Resume a suspended tenant');
  statusAction('/terminate', 'terminated', 'Terminate the contract (final). Tenant keys are revoked; delete the data with DELETE.');

  app.delete<{ Querystring: { confirm?: string } }>(
    '/',
    {
      config: { ...op, allowTerminated: true },
      schema: {
        tags: ['operator'],
        summary: 'Delete every piece of data of a terminated tenant (billing records go to an operator-only retention set). Requires ?confirm=<tenantId>.',
        params: tenantParams,
        querystring: { type: 'object', additionalProperties: false, properties: { confirm: { type: 'string', maxLength: 64 } } },
        response: {
          200: {
            type: 'object',
            additionalProperties: false,
            required: ['deletedKeys', 'indexEntries', 'cdrEntries', 'retention'],
            properties: {
              deletedKeys: { type: 'integer', description: "Keys under the tenant's hash tag" },
              indexEntries: { type: 'integer', description: 'Entries removed from global indexes' },
              cdrEntries: { type: 'integer', description: 'CDR stream entries and dead letters removed' },
              retention: {
                type: ['object', 'null'],
                description: 'The retention set keeping billing records (operator-only) until expiresAt; null when nothing is kept',
                properties: { id: { type: 'string' }, expiresAt: { type: 'integer' }, keys: { type: 'array', items: { type: 'string' } } },
              },
            },
          },
          ...errors(403, 409),
        },
      },
    },
    async (req) => {
      const t = tenantOf(req);
      if (req.query.confirm !== t.id) {
        throw new KumoError('KUMO_ERR_CONFIRMATION_REQUIRED', `add ?confirm=${t.id} to delete the tenant's data`, { tenantId: t.id });
      }
      return repo.purgeTenant(t.id, actorOf(req));
    },
  );

  // ---- tenant-admin API keys (issued by operators) -------------------------------------------

  app.get(
    '/api-keys',
    {
      config: op,
      schema: {
        tags: ['operator'],
        summary: "The tenant's admin API keys (never the keys themselves)",
        params: tenantParams,
        response: { 200: { type: 'object', additionalProperties: false, required: ['items'], properties: { items: { type: 'array', items: apiKeySchema } } }, ...errors(403) },
      },
    },
    async (req) => ({ items: (await repo.apiKeys.list(tenantOf(req).id)) }),
  );

  app.post<{ Body: { name: string } }>(
    '/api-keys',
    {
      config: op,
      schema: {
        tags: ['operator'],
        summary: 'Issue a tenant-admin API key. The key is in the answer only.',
        params: tenantParams,
        body: apiKeyBody,
        response: { 201: issuedKeySchema, ...errors(403, 409) },
      },
    },
    async (req, reply) => {
      const t = tenantOf(req);
      if (t.status === 'terminated') throw new KumoError('KUMO_ERR_TENANT_TERMINATED', 'the tenant is terminated', { tenantId: t.id });
      const issued = await repo.apiKeys.issue({ role: 'tenant-admin', tenantId: t.id, name: req.body.name });
      await repo.audit.append(t.id, { actor: actorOf(req), action: 'apiKey.issue', target: `apiKey:${issued.record.id}`, after: issued.record });
      return reply.code(201).send({ key: issued.key, apiKey: issued.record });
    },
  );

  app.delete<{ Params: { tenantId: string; id: string } }>(
    '/api-keys/:id',
    {
      config: op,
      schema: {
        tags: ['operator'],
        summary: 'Revoke a tenant-admin API key',
        params: { type: 'object', properties: { tenantId: { type: 'string' }, id: { type: 'string', maxLength: 32 } }, required: ['tenantId', 'id'] },
        response: { 204: { type: 'null' }, ...errors(403) },
      },
    },
    async (req, reply) => {
      const t = tenantOf(req);
      const rec = await repo.apiKeys.byId(req.params.id);
      if (rec?.tenantId !== t.id) throw notFound('apiKey', req.params.id);
      await repo.apiKeys.revoke(rec.id);
      await repo.audit.append(t.id, { actor: actorOf(req), action: 'apiKey.revoke', target: `apiKey:${rec.id}`, before: rec });
      return reply.code(204).send();
    },
  );
});
