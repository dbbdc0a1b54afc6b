import { mergePatch, validateExtension, type ExtensionInput, type ExtensionRecord } from '@kumo/domain';
import { actorOf, defineRoutes, tenantOf } from '../context.js';
import { GrantRepo } from '@kumo/store';
import { notFound, valid } from '../errors.js';
import { checkCallerIdOwned } from '../ownership.js';
import {
  errors,
  extensionCreateBody,
  extensionPatchBody,
  extensionPutBody,
  extensionSchema,
  numberParams,
  page,
  pageQuery,
  parseLimit,
  tenantParams,
} from '../schemas.js';

type Settings = Omit<ExtensionInput, 'number'>;

/** The settings of a stored extension, as a PUT body would give them (no digests, no timestamps). */
function settingsOf(cur: ExtensionRecord): Settings {
  const { number: _n, ha1Md5: _m, ha1Sha256: _s, createdAt: _c, updatedAt: _u, ...rest } = cur;
  return rest;
}

/** Extensions (`/v1/tenants/:tenantId/extensions`). Passwords go in; only HA1 digests are stored; nothing secret comes out. */
export const extensionRoutes = defineRoutes((app, { redis, keys, repo }) => {
  const grants = new GrantRepo(redis, keys, repo.audit);
  app.get<{ Querystring: { limit?: string; after?: string } }>(
    '/extensions',
    { schema: { tags: ['tenant'], summary: 'List extensions (number order)', params: tenantParams, querystring: pageQuery, response: { 200: page(extensionSchema), ...errors() } } },
    async (req) => repo.listExtensions(tenantOf(req).id, { after: req.query.after, limit: parseLimit(req.query) }),
  );

  app.post<{ Body: ExtensionInput }>(
    '/extensions',
    {
      schema: {
        tags: ['tenant'],
        summary: 'Create an extension. 409 KUMO_ERR_PORT_LIMIT when the contract ports are all used; forwarding targets must exist.',
        params: tenantParams,
        body: extensionCreateBody,
        response: { 201: extensionSchema, ...errors(403, 409) },
      },
    },
    async (req, reply) => {
      const t = tenantOf(req);
      const v = valid(validateExtension(req.body, await repo.numberingPlan(t.id)));
      await checkCallerIdOwned(grants, repo, t.id, v.outboundCallerId, 'outboundCallerId');
      return reply.code(201).send(await repo.createExtension(t.id, v, actorOf(req)));
    },
  );

  app.get<{ Params: { number: string } }>(
    '/extensions/:number',
    { schema: { tags: ['tenant'], summary: 'One extension', params: numberParams, response: { 200: extensionSchema, ...errors() } } },
    async (req) => {
      const e = await repo.extension(tenantOf(req).id, req.params.number);
      if (e === null) throw notFound('extension', req.params.number);
      return e;
    },
  );

  app.put<{ Params: { number: string }; Body: Settings }>(
    '/extensions/:number',
    {
      schema: {
        tags: ['tenant'],
        summary: 'Replace an extension (every setting; an omitted password keeps the stored digests)',
        params: numberParams,
        body: extensionPutBody,
        response: { 200: extensionSchema, ...errors(403, 409) },
      },
    },
    async (req) => {
      const t = tenantOf(req);
      const plan = await repo.numberingPlan(t.id);
      const number = req.params.number;
      const v = valid(validateExtension({ ...req.body, number }, plan, { requirePassword: false }));
      await checkCallerIdOwned(grants, repo, t.id, v.outboundCallerId, 'outboundCallerId');
      return repo.replaceExtension(t.id, number, () => v, actorOf(req));
    },
  );

  app.patch<{ Params: { number: string }; Body: Record<string, unknown> }>(
    '/extensions/:number',
    {
      schema: {
        tags: ['tenant'],
        summary: 'Change an extension (JSON Merge Patch): `{"forwarding":{"busy":"1002"}}` keeps the other forwarding kinds; null clears',
        params: numberParams,
        body: extensionPatchBody,
        response: { 200: extensionSchema, ...errors(403, 409) },
      },
    },
    async (req) => {
      const t = tenantOf(req);
      const plan = await repo.numberingPlan(t.id);
      const number = req.params.number;
      const { password, ...patch } = req.body;
      const build = (cur: ExtensionRecord) =>
        valid(validateExtension({ ...mergePatch(settingsOf(cur), patch), number, ...(typeof password === 'string' ? { password } : {}) }, plan, { requirePassword: false }));
      if ('outboundCallerId' in patch) {
        const cur = await repo.extension(t.id, number);
        if (cur === null) throw notFound('extension', number);
        await checkCallerIdOwned(grants, repo, t.id, build(cur).outboundCallerId, 'outboundCallerId');
      }
      return repo.replaceExtension(t.id, number, build, actorOf(req));
    },
  );

  app.delete<{ Params: { number: string } }>(
    '/extensions/:number',
    {
      schema: {
        tags: ['tenant'],
        summary:
          'Delete an extension. It leaves ring groups (unless it is the last member) and pickup groups; 409 KUMO_ERR_IN_USE (listing them) while forwarding, an overflow, a DID or a ring group it is the last member of points to it.',
        params: numberParams,
        response: { 204: { type: 'null' }, ...errors(403, 409) },
      },
    },
    async (req, reply) => {
      await repo.deleteExtension(tenantOf(req).id, req.params.number, actorOf(req));
      return reply.code(204).send();
    },
  );
});
