import {
  mergePatch,
  validatePickupGroup,
  validateRingGroup,
  type PickupGroup,
  type PickupGroupInput,
  type RingGroup,
  type RingGroupInput,
} from '@kumo/domain';
import { actorOf, defineRoutes, tenantOf } from '../context.js';
import { notFound, valid } from '../errors.js';
import {
  errors,
  idParams,
  numberParams,
  page,
  pageQuery,
  parseLimit,
  pickupGroupCreateBody,
  pickupGroupPatchBody,
  pickupGroupPutBody,
  pickupGroupSchema,
  ringGroupCreateBody,
  ringGroupPatchBody,
  ringGroupPutBody,
  ringGroupSchema,
  tenantParams,
} from '../schemas.js';

function ringGroupSettings(g: RingGroup): Omit<RingGroupInput, 'number'> {
  const { number: _n, createdAt: _c, updatedAt: _u, ...rest } = g;
  return rest;
}
function pickupGroupSettings(g: PickupGroup): Omit<PickupGroupInput, 'id'> {
  const { id: _i, createdAt: _c, updatedAt: _u, ...rest } = g;
  return rest;
}

const DELETE_GROUP =
  'Delete a ring group; 409 KUMO_ERR_IN_USE (listing them) while forwarding, an overflow or a DID points to it.';

/** Ring groups (`/ring-groups`) and pickup groups (`/pickup-groups`) of a tenant. */
export const groupRoutes = defineRoutes((app, { repo }) => {
  type Q = { Querystring: { limit?: string; after?: string } };

  app.get<Q>(
    '/ring-groups',
    { schema: { tags: ['tenant'], summary: 'List ring groups', params: tenantParams, querystring: pageQuery, response: { 200: page(ringGroupSchema), ...errors() } } },
    async (req) => repo.listRingGroups(tenantOf(req).id, { after: req.query.after, limit: parseLimit(req.query) }),
  );
  app.post<{ Body: RingGroupInput }>(
    '/ring-groups',
    {
      schema: {
        tags: ['tenant'],
        summary: 'Create a ring group; members must be existing extensions, the overflow an extension or ring group (or an outside number)',
        params: tenantParams,
        body: ringGroupCreateBody,
        response: { 201: ringGroupSchema, ...errors(403, 409) },
      },
    },
    async (req, reply) => {
      const t = tenantOf(req);
      const v = valid(validateRingGroup(req.body, await repo.numberingPlan(t.id)));
      return reply.code(201).send(await repo.createRingGroup(t.id, v, actorOf(req)));
    },
  );
  app.get<{ Params: { number: string } }>(
    '/ring-groups/:number',
    { schema: { tags: ['tenant'], summary: 'One ring group', params: numberParams, response: { 200: ringGroupSchema, ...errors() } } },
    async (req) => {
      const g = await repo.ringGroup(tenantOf(req).id, req.params.number);
      if (g === null) throw notFound('ringGroup', req.params.number);
      return g;
    },
  );
  app.put<{ Params: { number: string }; Body: Omit<RingGroupInput, 'number'> }>(
    '/ring-groups/:number',
    { schema: { tags: ['tenant'], summary: 'Replace a ring group', params: numberParams, body: ringGroupPutBody, response: { 200: ringGroupSchema, ...errors(403, 409) } } },
    async (req) => {
      const t = tenantOf(req);
      const plan = await repo.numberingPlan(t.id);
      const number = req.params.number;
      return repo.replaceRingGroup(t.id, number, () => valid(validateRingGroup({ ...req.body, number }, plan)), actorOf(req));
    },
  );
  app.patch<{ Params: { number: string }; Body: Record<string, unknown> }>(
    '/ring-groups/:number',
    {
      schema: {
        tags: ['tenant'],
        summary: 'Change a ring group (JSON Merge Patch; `members` is replaced as a list)',
        params: numberParams,
        body: ringGroupPatchBody,
        response: { 200: ringGroupSchema, ...errors(403, 409) },
      },
    },
    async (req) => {
      const t = tenantOf(req);
      const plan = await repo.numberingPlan(t.id);
      const number = req.params.number;
      return repo.replaceRingGroup(t.id, number, (cur) => valid(validateRingGroup({ ...mergePatch(ringGroupSettings(cur), req.body), number }, plan)), actorOf(req));
    },
  );
  app.delete<{ Params: { number: string } }>(
    '/ring-groups/:number',
    { schema: { tags: ['tenant'], summary: DELETE_GROUP, params: numberParams, response: { 204: { type: 'null' }, ...errors(403, 409) } } },
    async (req, reply) => {
      await repo.deleteRingGroup(tenantOf(req).id, req.params.number, actorOf(req));
      return reply.code(204).send();
    },
  );

  app.get<Q>(
    '/pickup-groups',
    { schema: { tags: ['tenant'], summary: 'List pickup groups', params: tenantParams, querystring: pageQuery, response: { 200: page(pickupGroupSchema), ...errors() } } },
    async (req) => repo.listPickupGroups(tenantOf(req).id, { after: req.query.after, limit: parseLimit(req.query) }),
  );
  app.post<{ Body: PickupGroupInput }>(
    '/pickup-groups',
    {
      schema: { tags: ['tenant'], summary: 'Create a pickup group', params: tenantParams, body: pickupGroupCreateBody, response: { 201: pickupGroupSchema, ...errors(403, 409) } },
    },
    async (req, reply) => reply.code(201).send(await repo.createPickupGroup(tenantOf(req).id, valid(validatePickupGroup(req.body)), actorOf(req))),
  );
  app.get<{ Params: { id: string } }>(
    '/pickup-groups/:id',
    { schema: { tags: ['tenant'], summary: 'One pickup group', params: idParams, response: { 200: pickupGroupSchema, ...errors() } } },
    async (req) => {
      const g = await repo.pickupGroup(tenantOf(req).id, req.params.id);
      if (g === null) throw notFound('pickupGroup', req.params.id);
      return g;
    },
  );
  app.put<{ Params: { id: string }; Body: Omit<PickupGroupInput, 'id'> }>(
    '/pickup-groups/:id',
    { schema: { tags: ['tenant'], summary: 'Replace a pickup group', params: idParams, body: pickupGroupPutBody, response: { 200: pickupGroupSchema, ...errors(403, 409) } } },
    async (req) => {
      const id = req.params.id;
      return repo.replacePickupGroup(tenantOf(req).id, id, () => valid(validatePickupGroup({ ...req.body, id })), actorOf(req));
    },
  );
  app.patch<{ Params: { id: string }; Body: Record<string, unknown> }>(
    '/pickup-groups/:id',
    {
      schema: {
        tags: ['tenant'],
        summary: 'Change a pickup group (JSON Merge Patch; `members` is replaced as a list)',
        params: idParams,
        body: pickupGroupPatchBody,
        response: { 200: pickupGroupSchema, ...errors(403, 409) },
      },
    },
    async (req) => {
      const id = req.params.id;
      return repo.replacePickupGroup(tenantOf(req).id, id, (cur) => valid(validatePickupGroup({ ...mergePatch(pickupGroupSettings(cur), req.body), id })), actorOf(req));
    },
  );
  app.delete<{ Params: { id: string } }>(
    '/pickup-groups/:id',
    { schema: { tags: ['tenant'], summary: 'Delete a pickup group (nothing refers to pickup groups)', params: idParams, response: { 204: { type: 'null' }, ...errors(403, 409) } } },
    async (req, reply) => {
      await repo.deletePickupGroup(tenantOf(req).id, req.params.id, actorOf(req));
      return reply.code(204).send();
    },
  );
});
