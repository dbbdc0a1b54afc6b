import { defineRoutes, tenantOf } from '../context.js';
import { streamCursor } from '../cursors.js';
import { forPrincipal } from '../hygiene.js';
import { auditEntrySchema, auditQuery, errors, page, parseLimit, tenantParams } from '../schemas.js';

/** Configuration history (`/v1/tenants/:tenantId/audit`), newest first. */
export const auditRoutes = defineRoutes((app, { repo }) => {
  app.get<{ Querystring: { limit?: string; before?: string } }>(
    '/audit',
    {
      schema: {
        tags: ['tenant'],
        summary: 'Who changed what, when (secrets redacted). Page with ?before=<next>.',
        params: tenantParams,
        querystring: auditQuery,
        response: { 200: page(auditEntrySchema), ...errors() },
      },
    },
    async (req) =>
      forPrincipal(await repo.audit.list(tenantOf(req).id, { before: streamCursor(req.query.before, 'before'), limit: parseLimit(req.query) }), req.principal?.role),
  );
});
