import { validateRestrictionLevel } from '@kumo/domain';
import { actorOf, defineRoutes } from '../context.js';
import { valid } from '../errors.js';
import { auditEntrySchema, auditQuery, errors, page, parseLimit } from '../schemas.js';

const levelSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['level'],
  properties: { level: { type: 'integer', minimum: 0, maximum: 3, description: '0 = none … 3 = strictest (disasters)' } },
} as const;

/** Operator: platform-wide settings (`/v1/platform/…`). */
export const platformRoutes = defineRoutes((app, { repo }) => {
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
    async (req) => repo.audit.list(null, { before: req.query.before, limit: parseLimit(req.query) }),
  );
});
