import { validateGrants, type GrantsInput } from '@kumo/domain';
import { GrantRepo } from '@kumo/store';
import { actorOf, defineRoutes, tenantOf } from '../context.js';
import { valid } from '../errors.js';
import { errors, tenantParams } from '../schemas.js';

const blockS = {
  type: 'object',
  additionalProperties: false,
  required: ['first', 'count'],
  properties: { first: { type: 'string', maxLength: 24 }, count: { type: 'integer', minimum: 1, maximum: 10000 } },
} as const;
const grantsOut = {
  type: 'object',
  additionalProperties: false,
  required: ['numbers', 'blocks', 'gateways'],
  properties: {
    numbers: { type: 'array', items: { type: 'string' } },
    blocks: { type: 'array', items: blockS },
    gateways: { type: 'array', items: { type: 'string' } },
  },
} as const;
const grantsIn = {
  type: 'object',
  additionalProperties: false,
  properties: {
    numbers: { type: 'array', maxItems: 10000, items: { type: 'string', maxLength: 24 }, description: 'Numbers (E.164 or national) the tenant may add as DIDs' },
    blocks: { type: 'array', maxItems: 1000, items: blockS, description: 'Pools of consecutive numbers the tenant may add as DIDs' },
    gateways: { type: 'array', maxItems: 1000, items: { type: 'string', maxLength: 253 }, description: "Carrier gateway addresses the tenant's trunks may use" },
    allowSpecial: { type: 'boolean', description: 'Needed to grant a loopback, unspecified, broadcast, multicast, link-local or reserved address' },
  },
} as const;

/** Operator grants (`/v1/tenants/:tenantId/grants`): numbers, number blocks and carrier gateways assigned to the tenant. */
export const grantRoutes = defineRoutes((app, { redis, keys, repo }) => {
  const grants = new GrantRepo(redis, keys, repo.audit);
  app.get(
    '/grants',
    { schema: { tags: ['tenant'], summary: 'Numbers and carrier gateways the operator assigned to the tenant', params: tenantParams, response: { 200: grantsOut, ...errors() } } },
    async (req) => grants.get(tenantOf(req).id),
  );
  app.put<{ Body: GrantsInput }>(
    '/grants',
    {
      config: { operatorOnly: true },
      schema: {
        tags: ['operator'],
        summary: 'Replace what the tenant is assigned (existing DIDs and trunks are kept; new ones must be within the grants)',
        params: tenantParams,
        body: grantsIn,
        response: { 200: grantsOut, ...errors(403) },
      },
    },
    async (req) => grants.set(tenantOf(req).id, valid(validateGrants(req.body)), actorOf(req)),
  );
});
