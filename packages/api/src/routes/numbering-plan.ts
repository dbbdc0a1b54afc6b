import { validateNumberingPlan, type NumberingPlanInput } from '@kumo/domain';
import { actorOf, defineRoutes, tenantOf } from '../context.js';
import { valid } from '../errors.js';
import { errors, planBody, planSchema, tenantParams } from '../schemas.js';

/** Numbering plan (`/v1/tenants/:tenantId/numbering-plan`): extension length, outside-line prefix, feature codes. */
export const numberingPlanRoutes = defineRoutes((app, { repo }) => {
  app.get('/numbering-plan', { schema: { tags: ['tenant'], summary: 'The numbering plan', params: tenantParams, response: { 200: planSchema, ...errors() } } }, async (req) =>
    repo.numberingPlan(tenantOf(req).id),
  );
  app.put<{ Body: NumberingPlanInput }>(
    '/numbering-plan',
    {
      schema: {
        tags: ['tenant'],
        summary: 'Change the plan (fields omitted keep their value). 409 when it conflicts with existing numbers.',
        params: tenantParams,
        body: planBody,
        response: { 200: planSchema, ...errors(403, 409) },
      },
    },
    async (req) => {
      const t = tenantOf(req);
      const plan = valid(validateNumberingPlan(req.body, await repo.numberingPlan(t.id)));
      return repo.setNumberingPlan(t.id, plan, actorOf(req));
    },
  );
});
