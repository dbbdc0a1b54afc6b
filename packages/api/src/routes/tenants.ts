import { validateTenantCreate, type TenantCreateInput } from '@kumo/domain';
import { actorOf, defineRoutes } from '../context.js';
import { valid } from '../errors.js';
import { errors, page, pageQuery, parseLimit, tenantCreateBody, tenantSchema } from '../schemas.js';

/** Operator: list and create tenants (`/v1/tenants`). */
export const tenantsRoutes = defineRoutes((app, { repo }) => {
  app.get<{ Querystring: { limit?: string; after?: string } }>(
    '/tenants',
    {
      schema: {
        tags: ['operator'],
        summary: 'List tenants (lexical id order)',
        querystring: pageQuery,
        response: { 200: page(tenantSchema), ...errors(403) },
      },
    },
    async (req) => repo.listTenants({ after: req.query.after, limit: parseLimit(req.query) }),
  );

  app.post<{ Body: TenantCreateInput }>(
    '/tenants',
    {
      schema: {
        tags: ['operator'],
        summary: 'Create a tenant with its contract',
        body: tenantCreateBody,
        response: { 201: tenantSchema, ...errors(403, 409, 413, 415) },
      },
    },
    async (req, reply) => {
      const v = valid(validateTenantCreate(req.body));
      return reply.code(201).send(await repo.createTenant(v, actorOf(req)));
    },
  );
});
