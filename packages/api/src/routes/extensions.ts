import { KumoError } from '@kumo/runtime';
import { validateExtension, validateExtensionPatch, type ExtensionInput, type ExtensionPatch } from '@kumo/domain';
import { actorOf, defineRoutes, tenantOf } from '../context.js';
import { GrantRepo } from '@kumo/store';
import { valid } from '../errors.js';
import { checkCallerIdOwned } from '../ownership.js';
import { errors, extensionCreateBody, extensionPatchBody, extensionSchema, numberParams, page, pageQuery, parseLimit, tenantParams } from '../schemas.js';

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
        summary: 'Create an extension. 409 KUMO_ERR_PORT_LIMIT when the contract ports are all used.',
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
      if (e === null) throw new KumoError('KUMO_ERR_NOT_FOUND', 'extension not found');
      return e;
    },
  );

  app.patch<{ Params: { number: string }; Body: ExtensionPatch }>(
    '/extensions/:number',
    {
      schema: {
        tags: ['tenant'],
        summary: 'Change an extension; a new password replaces the digests',
        params: numberParams,
        body: extensionPatchBody,
        response: { 200: extensionSchema, ...errors(403, 409) },
      },
    },
    async (req) => {
      const patch = valid(validateExtensionPatch(req.body));
      await checkCallerIdOwned(grants, repo, tenantOf(req).id, patch.outboundCallerId, 'outboundCallerId');
      return repo.updateExtension(tenantOf(req).id, req.params.number, patch, actorOf(req));
    },
  );

  app.delete<{ Params: { number: string } }>(
    '/extensions/:number',
    { schema: { tags: ['tenant'], summary: 'Delete an extension', params: numberParams, response: { 204: { type: 'null' }, ...errors(403, 409) } } },
    async (req, reply) => {
      await repo.deleteExtension(tenantOf(req).id, req.params.number, actorOf(req));
      return reply.code(204).send();
    },
  );
});
