import { DEFAULT_NUMBERING_PLAN, mergePatch, validateNumberingPlan, type NumberingPlanInput } from '@kumo/domain';
import { actorOf, defineRoutes, tenantOf } from '../context.js';
import { valid } from '../errors.js';
import { errors, planBody, planPatchBody, planSchema, tenantParams } from '../schemas.js';

/** Numbering plan (`/v1/tenants/:tenantId/numbering-plan`): extension length, outside-line prefix, feature codes. */
export const numberingPlanRoutes = defineRoutes((app, { repo }) => {
  app.get('/numbering-plan', { schema: { tags: ['tenant'], summary: 'The numbering plan', params: tenantParams, response: { 200: planSchema, ...errors() } } }, async (req) =>
    repo.numberingPlan(tenantOf(req).id),
  );
  const summary = '409 when it conflicts with existing numbers.';
  app.put<{ Body: NumberingPlanInput }>(
    '/numbering-plan',
    {
      schema: { tags: ['tenant'], summary: `Replace the plan (omitted fields take their defaults). ${summary}`, params: tenantParams, body: planBody, response: { 200: planSchema, ...errors(403, 409) } },
    },
    async (req) => {
      const t = tenantOf(req);
      return repo.setNumberingPlan(t.id, valid(validateNumberingPlan(req.body, DEFAULT_NUMBERING_PLAN)), actorOf(req));
    },
  );
  app.patch<{ Body: Record<string, unknown> }>(
    '/numbering-plan',
    {
      schema: {
        tags: ['tenant'],
        summary: `Change the plan (JSON Merge Patch: omitted fields keep their value, null resets one). ${summary}`,
        params: tenantParams,
        body: planPatchBody,
        response: { 200: planSchema, ...errors(403, 409) },
      },
    },
    async (req) => {
      const t = tenantOf(req);
      const merged = mergePatch<NumberingPlanInput>(await repo.numberingPlan(t.id), req.body);
      return repo.setNumberingPlan(t.id, valid(validateNumberingPlan(merged, DEFAULT_NUMBERING_PLAN)), actorOf(req));
    },
  );
});
