import { mergePatch, normalizeE164, validateDid, type Did, type DidInput } from '@kumo/domain';
import { GrantRepo, didKeyOf } from '@kumo/store';
import { actorOf, defineRoutes, tenantOf } from '../context.js';
import { notFound, valid } from '../errors.js';
import { checkDidGranted, hideOtherTenants } from '../ownership.js';
import { didCreateBody, didPatchBody, didPutBody, didSchema, errors, numberParams, page, pageQuery, parseLimit, tenantParams } from '../schemas.js';

/** The E.164 number of a DID path (`+81…` URL-encoded, or national `0…`); 404 when it is neither. */
function didPath(n: string): string {
  const e = normalizeE164(n) ?? didKeyOf(n);
  if (e === undefined) throw notFound('did', n);
  return e;
}

function settingsOf(d: Did): Omit<DidInput, 'number'> {
  return { target: d.target, description: d.description };
}

/** DIDs (`/v1/tenants/:tenantId/dids`): public numbers routed to an extension or ring group. Paths accept `+81…` (URL-encoded) or `0…`. */
export const didRoutes = defineRoutes((app, { redis, keys, repo }) => {
  const grants = new GrantRepo(redis, keys, repo.audit);
  app.get<{ Querystring: { limit?: string; after?: string } }>(
    '/dids',
    { schema: { tags: ['tenant'], summary: 'List DIDs (E.164 order)', params: tenantParams, querystring: pageQuery, response: { 200: page(didSchema), ...errors() } } },
    async (req) => repo.listDids(tenantOf(req).id, { after: req.query.after, limit: parseLimit(req.query) }),
  );
  app.post<{ Body: DidInput }>(
    '/dids',
    {
      schema: {
        tags: ['tenant'],
        summary: 'Add a DID; national numbers are stored as E.164. Tenant admins: only numbers the operator assigned (GET …/grants), else 403.',
        params: tenantParams,
        body: didCreateBody,
        response: { 201: didSchema, ...errors(403, 409) },
      },
    },
    async (req, reply) => {
      const t = tenantOf(req);
      const v = valid(validateDid(req.body));
      await checkDidGranted(grants, req, t.id, v.number);
      try {
        return reply.code(201).send(await repo.createDid(t.id, v, actorOf(req)));
      } catch (err) {
        throw hideOtherTenants(err, req);
      }
    },
  );
  app.get<{ Params: { number: string } }>(
    '/dids/:number',
    { schema: { tags: ['tenant'], summary: 'One DID', params: numberParams, response: { 200: didSchema, ...errors() } } },
    async (req) => {
      const d = await repo.did(tenantOf(req).id, req.params.number);
      if (d === null) throw notFound('did', req.params.number);
      return d;
    },
  );
  app.put<{ Params: { number: string }; Body: Omit<DidInput, 'number'> }>(
    '/dids/:number',
    { schema: { tags: ['tenant'], summary: 'Replace a DID (target and description)', params: numberParams, body: didPutBody, response: { 200: didSchema, ...errors(403, 409) } } },
    async (req) => {
      const number = didPath(req.params.number);
      return repo.replaceDid(tenantOf(req).id, number, () => valid(validateDid({ ...req.body, number })), actorOf(req));
    },
  );
  app.patch<{ Params: { number: string }; Body: Record<string, unknown> }>(
    '/dids/:number',
    { schema: { tags: ['tenant'], summary: 'Change a DID (JSON Merge Patch)', params: numberParams, body: didPatchBody, response: { 200: didSchema, ...errors(403, 409) } } },
    async (req) => {
      const number = didPath(req.params.number);
      return repo.replaceDid(tenantOf(req).id, number, (cur) => valid(validateDid({ ...mergePatch(settingsOf(cur), req.body), number })), actorOf(req));
    },
  );
  app.delete<{ Params: { number: string } }>(
    '/dids/:number',
    { schema: { tags: ['tenant'], summary: 'Remove a DID (nothing refers to DIDs)', params: numberParams, response: { 204: { type: 'null' }, ...errors(403, 409) } } },
    async (req, reply) => {
      await repo.deleteDid(tenantOf(req).id, didPath(req.params.number), actorOf(req));
      return reply.code(204).send();
    },
  );
});
