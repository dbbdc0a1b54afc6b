import { KumoError } from '@kumo/runtime';
import { gatewayIdentity, mergePatch, validateTrunk, type TrunkInput, type TrunkRecord, type TrunkValue } from '@kumo/domain';
import { GatewayHealthStore, GrantRepo, TrunkRegistrationStore } from '@kumo/store';
import type { FastifyRequest } from 'fastify';
import { actorOf, defineRoutes, tenantOf } from '../context.js';
import { notFound, valid } from '../errors.js';
import { checkCallerIdOwned, checkGatewaysGranted, hideOtherTenants } from '../ownership.js';
import { errors, idParams, page, pageQuery, parseLimit, tenantParams, trunkCreateBody, trunkPatchBody, trunkPutBody, trunkSchema, trunkStatusSchema } from '../schemas.js';

type TrunkPut = Omit<TrunkInput, 'id' | 'registration'> & {
  registration?: { username: string; password?: string; realm?: string; expiresSec?: number };
};

/** The settings of a stored trunk (with the stored registration password, never returned). */
function settingsOf(cur: TrunkRecord): Omit<TrunkInput, 'id'> {
  const { id: _i, createdAt: _c, updatedAt: _u, ...rest } = cur;
  return rest;
}

function registrationPasswordMissing(): KumoError {
  return new KumoError('KUMO_ERR_VALIDATION', 'registration/password is required (no stored password to keep)', {
    problems: [{ field: 'registration/password', message: 'is required (no stored password to keep)' }],
  });
}

/** Trunks (`/v1/tenants/:tenantId/trunks`). Registration passwords are stored (needed to register) but never returned. */
export const trunkRoutes = defineRoutes((app, { redis, keys, repo, ownSipAddresses }) => {
  const grants = new GrantRepo(redis, keys, repo.audit);
  const health = new GatewayHealthStore(redis, keys);
  const registrations = new TrunkRegistrationStore(redis, keys);
  const check = (v: TrunkInput) => valid(validateTrunk(v, { ownAddresses: ownSipAddresses }));
  /** Ownership (docs/security.md): gateways the operator assigned (`before`: the trunk's current ones) and an owned caller ID. */
  const checkOwned = async (req: FastifyRequest, tenantId: string, v: TrunkValue, before: readonly string[] = []): Promise<void> => {
    await checkGatewaysGranted(grants, req, tenantId, v.gateways.map((g) => g.host), before);
    await checkCallerIdOwned(grants, repo, tenantId, v.callerId, 'callerId');
  };
  /** Validates against the current record, checks ownership, then writes with the store's compare-and-set. */
  const replace = async (req: FastifyRequest, id: string, build: (cur: TrunkRecord) => TrunkValue): Promise<TrunkRecord> => {
    const t = tenantOf(req);
    const cur = await repo.trunk(t.id, id);
    if (cur === null) throw notFound('trunk', id);
    await checkOwned(req, t.id, build(cur), cur.gateways.map((g) => g.host));
    try {
      return await repo.replaceTrunk(t.id, id, build, actorOf(req));
    } catch (err) {
      throw hideOtherTenants(err, req);
    }
  };

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
        summary:
          "Create a trunk. channelLimit may not exceed the contract's trunkChannels (409); a gateway IP belongs to one trunk platform-wide (409); gateways may not be Kumo's own addresses (400).",
        params: tenantParams,
        body: trunkCreateBody,
        response: { 201: trunkSchema, ...errors(403, 409) },
      },
    },
    async (req, reply) => {
      const t = tenantOf(req);
      const v = check(req.body);
      await checkOwned(req, t.id, v);
      try {
        return reply.code(201).send(await repo.createTrunk(t.id, v, actorOf(req)));
      } catch (err) {
        throw hideOtherTenants(err, req);
      }
    },
  );
  app.get<{ Params: { id: string } }>(
    '/trunks/:id',
    { schema: { tags: ['tenant'], summary: 'One trunk', params: idParams, response: { 200: trunkSchema, ...errors() } } },
    async (req) => {
      const tr = await repo.trunk(tenantOf(req).id, req.params.id);
      if (tr === null) throw notFound('trunk', req.params.id);
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
      if (tr === null) throw notFound('trunk', req.params.id);
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
      const id = req.params.id;
      const { registration, ...rest } = req.body;
      return replace(
        req,
        id,
        (cur) => {
          let reg: TrunkInput['registration'];
          if (registration !== undefined) {
            const password = registration.password ?? cur.registration?.password;
            if (password === undefined) throw registrationPasswordMissing();
            reg = { ...registration, password };
          }
          return check({ ...rest, id, ...(reg !== undefined ? { registration: reg } : {}) });
        },
      );
    },
  );
  app.patch<{ Params: { id: string }; Body: Record<string, unknown> }>(
    '/trunks/:id',
    {
      schema: {
        tags: ['tenant'],
        summary: 'Change a trunk (JSON Merge Patch; `gateways` is replaced as a list, `registration` merges, null removes it)',
        params: idParams,
        body: trunkPatchBody,
        response: { 200: trunkSchema, ...errors(403, 409) },
      },
    },
    async (req) => {
      const id = req.params.id;
      return replace(
        req,
        id,
        (cur) => {
          const merged = mergePatch(settingsOf(cur), req.body);
          if (merged.registration !== undefined && merged.registration.password === undefined) throw registrationPasswordMissing();
          return check({ ...merged, id });
        },
      );
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
