import { KumoError } from '@kumo/runtime';
import { LocationStore, type Binding, type RegistrationListEntry } from '@kumo/store';
import { actorOf, defineRoutes, tenantOf } from '../context.js';
import { errors, numberParams, pageQuery, parseLimit, tenantParams } from '../schemas.js';

const ts = { type: 'string', format: 'date-time' } as const;

/** One registered device of an extension (what the registrar stored from its REGISTER). */
const bindingSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'contact', 'source', 'expiresAt', 'expiresInSec', 'updatedAt'],
  properties: {
    id: { type: 'string', description: 'Binding id (use it to unregister this device only)' },
    contact: { type: 'string', description: 'Contact URI the phone registered' },
    source: {
      type: 'object',
      additionalProperties: false,
      required: ['address', 'port', 'transport'],
      properties: { address: { type: 'string' }, port: { type: 'integer' }, transport: { type: 'string' } },
      description: 'Where the REGISTER came from (calls are sent there: NAT)',
    },
    userAgent: { type: 'string' },
    instanceId: { type: 'string', description: 'RFC 5626 +sip.instance' },
    regId: { type: 'integer' },
    expiresAt: ts,
    expiresInSec: { type: 'integer' },
    updatedAt: ts,
  },
} as const;

const registrationSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['extension', 'bindings'],
  properties: { extension: { type: 'string' }, bindings: { type: 'array', items: bindingSchema } },
} as const;

const bindingParams = {
  type: 'object',
  additionalProperties: false,
  required: ['tenantId', 'number', 'bindingId'],
  properties: { tenantId: { type: 'string', maxLength: 64 }, number: { type: 'string', maxLength: 32 }, bindingId: { type: 'string', pattern: '^[0-9a-f]{1,32}$' } },
} as const;

function bindingOut(b: Binding, now: number) {
  return {
    id: b.id,
    contact: b.contact,
    source: b.source,
    ...(b.userAgent !== undefined ? { userAgent: b.userAgent } : {}),
    ...(b.instanceId !== undefined ? { instanceId: b.instanceId } : {}),
    ...(b.regId !== undefined ? { regId: b.regId } : {}),
    expiresAt: new Date(b.expiresAt).toISOString(),
    expiresInSec: Math.max(0, Math.round((b.expiresAt - now) / 1000)),
    updatedAt: new Date(b.updatedAt).toISOString(),
  };
}

function entryOut(e: RegistrationListEntry, now: number) {
  return { extension: e.extension, bindings: e.bindings.map((b) => bindingOut(b, now)) };
}

/**
 * Tenant admins (`/v1/tenants/:tenantId/registrations`): the phones registered right now, per tenant
 * and per extension, and force-unregistering a device or a whole extension. Read from the registrar's
 * location store in Redis (the registrar writes it; this only reads and removes).
 */
export const registrationRoutes = defineRoutes((app, { redis, keys, repo }) => {
  const location = new LocationStore(redis, keys);

  app.get<{ Querystring: { limit?: string; after?: string } }>(
    '/registrations',
    {
      schema: {
        tags: ['tenant'],
        summary: 'Registered phones, by extension (extension order); `after` = last extension of the previous page',
        params: tenantParams,
        querystring: pageQuery,
        response: {
          200: {
            type: 'object',
            additionalProperties: false,
            required: ['items', 'next', 'bindings'],
            properties: {
              items: { type: 'array', items: registrationSchema },
              next: { type: ['string', 'null'] },
              bindings: { type: 'integer', description: 'Live bindings in the whole tenant' },
            },
          },
          ...errors(),
        },
      },
    },
    async (req) => {
      const tenantId = tenantOf(req).id;
      const now = Date.now();
      const [list, bindings] = await Promise.all([
        location.listTenant(tenantId, { limit: parseLimit(req.query), ...(req.query.after !== undefined ? { after: req.query.after } : {}), nowMs: now }),
        location.countBindings(tenantId, now),
      ]);
      return { items: list.entries.map((e) => entryOut(e, now)), next: list.next ?? null, bindings };
    },
  );

  app.get<{ Params: { number: string } }>(
    '/registrations/:number',
    { schema: { tags: ['tenant'], summary: 'Registered phones of one extension (empty when none)', params: numberParams, response: { 200: registrationSchema, ...errors() } } },
    async (req) => {
      const now = Date.now();
      const bindings = await location.contactsFor(tenantOf(req).id, req.params.number, now);
      return { extension: req.params.number, bindings: bindings.map((b) => bindingOut(b, now)) };
    },
  );

  app.delete<{ Params: { number: string } }>(
    '/registrations/:number',
    {
      schema: {
        tags: ['tenant'],
        summary: 'Force-unregister every device of an extension (it registers again on its next refresh if still configured)',
        params: numberParams,
        response: { 200: { type: 'object', additionalProperties: false, required: ['removed'], properties: { removed: { type: 'integer' } } }, ...errors() },
      },
    },
    async (req) => {
      const tenantId = tenantOf(req).id;
      const removed = await location.unregister(tenantId, req.params.number);
      if (removed > 0) await repo.audit.append(tenantId, { actor: actorOf(req), action: 'registration.delete', target: `registration:${req.params.number}`, after: { removed } });
      return { removed };
    },
  );

  app.delete<{ Params: { number: string; bindingId: string } }>(
    '/registrations/:number/:bindingId',
    { schema: { tags: ['tenant'], summary: 'Force-unregister one device', params: bindingParams, response: { 204: { type: 'null' }, ...errors() } } },
    async (req, reply) => {
      const tenantId = tenantOf(req).id;
      const removed = await location.unregister(tenantId, req.params.number, [req.params.bindingId]);
      if (removed === 0) throw new KumoError('KUMO_ERR_NOT_FOUND', `registration ${req.params.bindingId} not found`, { resource: 'registration', id: req.params.bindingId });
      await repo.audit.append(tenantId, {
        actor: actorOf(req),
        action: 'registration.delete',
        target: `registration:${req.params.number}/${req.params.bindingId}`,
      });
      return reply.code(204).send();
    },
  );
});

/** Operators (`/v1/registrations/counts`): live registrations per tenant. */
export const registrationCountRoutes = defineRoutes((app, { redis, keys, repo }) => {
  const location = new LocationStore(redis, keys);
  app.get<{ Querystring: { limit?: string; after?: string } }>(
    '/registrations/counts',
    {
      schema: {
        tags: ['operator'],
        summary: 'Live registration bindings per tenant (tenant id order)',
        querystring: pageQuery,
        response: {
          200: {
            type: 'object',
            additionalProperties: false,
            required: ['items', 'next'],
            properties: {
              items: {
                type: 'array',
                items: {
                  type: 'object',
                  additionalProperties: false,
                  required: ['tenantId', 'bindings'],
                  properties: { tenantId: { type: 'string' }, bindings: { type: 'integer' } },
                },
              },
              next: { type: ['string', 'null'] },
            },
          },
          ...errors(403),
        },
      },
    },
    async (req) => {
      const page = await repo.listTenants({ after: req.query.after, limit: parseLimit(req.query) });
      const now = Date.now();
      const counts = await Promise.all(page.items.map((t) => location.countBindings(t.id, now)));
      return { items: page.items.map((t, i) => ({ tenantId: t.id, bindings: counts[i] ?? 0 })), next: page.next };
    },
  );
});
