import { KumoError } from '@kumo/runtime';
import { validatePickupGroup, validateRingGroup, type PickupGroupInput, type RingGroupInput } from '@kumo/domain';
import { actorOf, defineRoutes, tenantOf } from '../context.js';
import { valid } from '../errors.js';
import {
  errors,
  idParams,
  numberParams,
  page,
  pageQuery,
  parseLimit,
  pickupGroupCreateBody,
  pickupGroupPutBody,
  pickupGroupSchema,
  ringGroupCreateBody,
  ringGroupPutBody,
  ringGroupSchema,
  tenantParams,
} from '../schemas.js';

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
        summary: 'Create a ring group; members must be existing extensions',
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
      if (g === null) throw new KumoError('KUMO_ERR_NOT_FOUND', 'ring group not found');
      return g;
    },
  );
  app.put<{ Params: { number: string }; Body: Omit<RingGroupInput, 'number'> }>(
    '/ring-groups/:number',
    { schema: { tags: ['tenant'], summary: 'Replace a ring group', params: numberParams, body: ringGroupPutBody, response: { 200: ringGroupSchema, ...errors(403, 409) } } },
    async (req) => {
      const t = tenantOf(req);
      const v = valid(validateRingGroup({ ...req.body, number: req.params.number }, await repo.numberingPlan(t.id)));
      return repo.replaceRingGroup(t.id, v, actorOf(req));
    },
  );
  app.delete<{ Params: { number: string } }>(
    '/ring-groups/:number',
    { schema: { tags: ['tenant'], summary: 'Delete a ring group', params: numberParams, response: { 204: { type: 'null' }, ...errors(403, 409) } } },
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
      if (g === null) throw new KumoError('KUMO_ERR_NOT_FOUND', 'pickup group not found');
      return g;
    },
  );
  app.put<{ Params: { id: string }; Body: Omit<PickupGroupInput, 'id'> }>(
    '/pickup-groups/:id',
    { schema: { tags: ['tenant'], summary: 'Replace a pickup group', params: idParams, body: pickupGroupPutBody, response: { 200: pickupGroupSchema, ...errors(403, 409) } } },
    async (req) => repo.replacePickupGroup(tenantOf(req).id, valid(validatePickupGroup({ ...req.body, id: req.params.id })), actorOf(req)),
  );
  app.delete<{ Params: { id: string } }>(
    '/pickup-groups/:id',
    { schema: { tags: ['tenant'], summary: 'Delete a pickup group', params: idParams, response: { 204: { type: 'null' }, ...errors(403, 409) } } },
    async (req, reply) => {
      await repo.deletePickupGroup(tenantOf(req).id, req.params.id, actorOf(req));
      return reply.code(204).send();
    },
  );
});
