import { KumoError } from '@kumo/runtime';
import { gatewayIdentity, validateTrunk, type TrunkInput } from '@kumo/domain';
import { GatewayHealthStore, TrunkRegistrationStore } from '@kumo/store';
import { actorOf, defineRoutes, tenantOf } from '../context.js';
import { valid } from '../errors.js';
import { errors, idParams, page, pageQuery, parseLimit, tenantParams, trunkCreateBody, trunkPutBody, trunkSchema, trunkStatusSchema } from '../schemas.js';

type TrunkPut = Omit<TrunkInput, 'id' | 'registration'> & {
  registration?: { username: string; password?: string; realm?: string; expiresSec?: number };
};

/** Trunks (`/v1/tenants/:tenantId/trunks`). Registration passwords are stored (needed to register) but never returned. */
export const trunkRoutes = defineRoutes((app, { repo, redis, keys }) => {
  const health = new GatewayHealthStore(redis, keys);
  const registrations = new TrunkRegistrationStore(redis, keys);
  app.get<{ Querystring: { limit?: string; after?: string } }>(
    '/trunks',
    { schema: { tags: ['tenant'], summary: 'List trunks', params: tenantParams, querystring: pageQuery, response: { 200: page(trunkSchema), ...errors() } } },
    async (req) => repo.listTrunks(tenantOf(req).id, { after: req.query.after, limit: parseLimit(req.query) }),
  );
  app.post<{ Body: TrunkInput }>(
    '/trunks',
    {
      schema: {
        tags: ['tenant'],
        summary: "Create a trunk. channelLimit may not exceed the contract's trunkChannels (409); gateway IPs are unique platform-wide (409).",
        params: tenantParams,
        body: trunkCreateBody,
        response: { 201: trunkSchema, ...errors(403, 409) },
      },
    },
    async (req, reply) => {
      const t = tenantOf(req);
      return reply.code(201).send(await repo.createTrunk(t.id, valid(validateTrunk(req.body)), actorOf(req)));
    },
  );
  app.get<{ Params: { id: string } }>(
    '/trunks/:id',
    { schema: { tags: ['tenant'], summary: 'One trunk', params: idParams, response: { 200: trunkSchema, ...errors() } } },
    async (req) => {
      const tr = await repo.trunk(tenantOf(req).id, req.params.id);
      if (tr === null) throw new KumoError('KUMO_ERR_NOT_FOUND', 'trunk not found');
      return tr;
    },
  );
  app.get<{ Params: { id: string } }>(
    '/trunks/:id/status',
    {
      schema: {
        tags: ['tenant'],
        summary: 'Gateway health (OPTIONS pings by the sip process): per gateway up, down or unknown (not pinged yet, or a host name)',
        params: idParams,
        response: { 200: trunkStatusSchema, ...errors() },
      },
    },
    async (req) => {
      const tr = await repo.trunk(tenantOf(req).id, req.params.id);
      if (tr === null) throw new KumoError('KUMO_ERR_NOT_FOUND', 'trunk not found');
      const h = await health.read(tr.gateways.map(gatewayIdentity));
      const reg = tr.registration ? await registrations.get(tenantOf(req).id, tr.id) : undefined;
      const iso = (ms: number | undefined) => (ms === undefined ? {} : { at: new Date(ms).toISOString() });
      return {
        id: tr.id,
        ...(tr.registration
          ? {
              registration: {
                state: reg?.state ?? 'unregistered',
                ...(reg?.expiresAt !== undefined ? { expiresAt: iso(reg.expiresAt).at } : {}),
                ...(reg ? { nextAttemptAt: iso(reg.nextAt).at, failures: reg.failures } : {}),
                ...(reg?.lastStatus !== undefined ? { lastStatus: reg.lastStatus } : {}),
              },
            }
          : {}),
        gateways: tr.gateways.map((g) => {
          const s = h.get(gatewayIdentity(g));
          return {
            host: g.host,
            port: g.port,
            transport: g.transport,
            state: s?.state ?? 'unknown',
            ...(s ? { since: new Date(s.since).toISOString(), lastPingAt: new Date(s.lastPingAt).toISOString(), failures: s.failures } : {}),
            ...(s?.lastStatus !== undefined ? { lastStatus: s.lastStatus } : {}),
          };
        }),
      };
    },
  );
  app.put<{ Params: { id: string }; Body: TrunkPut }>(
    '/trunks/:id',
    { schema: { tags: ['tenant'], summary: 'Replace a trunk', params: idParams, body: trunkPutBody, response: { 200: trunkSchema, ...errors(403, 409) } } },
    async (req) => {
      const t = tenantOf(req);
      const { registration, ...rest } = req.body;
      let reg: TrunkInput['registration'];
      if (registration !== undefined) {
        let password = registration.password;
        if (password === undefined) {
          const cur = await repo.trunk(t.id, req.params.id);
          password = cur?.registration?.password;
          if (password === undefined) {
            throw new KumoError('KUMO_ERR_VALIDATION', 'registration/password is required', {
              problems: [{ field: 'registration/password', message: 'is required (no stored password to keep)' }],
            });
          }
        }
        reg = { ...registration, password };
      }
      const v = valid(validateTrunk({ ...rest, id: req.params.id, ...(reg !== undefined ? { registration: reg } : {}) }));
      return repo.replaceTrunk(t.id, v, actorOf(req));
    },
  );
  app.delete<{ Params: { id: string } }>(
    '/trunks/:id',
    { schema: { tags: ['tenant'], summary: 'Delete a trunk', params: idParams, response: { 204: { type: 'null' }, ...errors(403, 409) } } },
    async (req, reply) => {
      await repo.deleteTrunk(tenantOf(req).id, req.params.id, actorOf(req));
      return reply.code(204).send();
    },
  );
});
