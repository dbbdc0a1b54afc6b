import type { KeyObject } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { mergePatch, type Cdr } from '@kumo/domain';
import { BRANCH_VIEW_STATES, KumoError, createBranchCloudMetrics, type BranchSiteView } from '@kumo/runtime';
import {
  BRANCH_STATES,
  CdrStreams,
  SiteRepo,
  publicKeyText,
  signSnapshot,
  type BranchReport,
  type SiteCredentialOwner,
  type SiteValue,
} from '@kumo/store';
import { actorOf, defineRoutes, tenantOf, type RouteContext } from '../context.js';
import { errors, mergePatchBody } from '../schemas.js';

const idS = { type: 'string', pattern: '^[a-z0-9][a-z0-9-]{0,39}$' } as const;
const numS = { type: 'string', pattern: '^[0-9]{1,8}$' } as const;
const siteProps = {
  name: { type: 'string', maxLength: 100 },
  extensions: { type: 'array', maxItems: 5000, uniqueItems: true, items: numS, description: 'Extensions whose phones are at the site' },
  ringGroups: { type: 'array', maxItems: 500, uniqueItems: true, items: numS, description: 'Ring groups the branch serves while alone' },
  pickupGroups: { type: 'array', maxItems: 500, uniqueItems: true, items: { type: 'string', maxLength: 64 }, description: 'Pickup groups the branch serves while alone' },
  trunkId: { type: 'string', maxLength: 64, description: "The site's local line (a trunk of the tenant): outbound, inbound and 110/118/119 while alone" },
} as const;
const siteBody = { type: 'object', additionalProperties: false, required: ['id', 'name', 'extensions', 'trunkId'], properties: { id: idS, ...siteProps } } as const;
const sitePut = { type: 'object', additionalProperties: false, required: ['name', 'extensions', 'trunkId'], properties: siteProps } as const;
const sitePatch = mergePatchBody(siteProps, [], 'JSON Merge Patch (RFC 7396): lists are replaced as whole lists.', [{ extensions: ['1001', '1002', '1003'] }, { name: 'Osaka 2F', pickupGroups: [] }]);
const statusS = {
  type: 'object',
  additionalProperties: false,
  required: ['state', 'snapshotVersion', 'cdrBacklog', 'reportedAt'],
  properties: {
    state: { type: 'string', enum: [...BRANCH_VIEW_STATES] },
    snapshotVersion: { type: 'integer' },
    cdrBacklog: { type: 'integer' },
    aloneSince: { type: ['string', 'null'] },
    reportedAt: { type: ['string', 'null'] },
    seq: { type: 'integer' },
  },
} as const;
const siteOut = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'name', 'extensions', 'ringGroups', 'pickupGroups', 'trunkId', 'credentialIssued', 'createdAt', 'updatedAt', 'branch'],
  properties: {
    id: { type: 'string' },
    ...siteProps,
    credentialIssued: { type: 'boolean' },
    createdAt: { type: 'string' },
    updatedAt: { type: 'string' },
    branch: statusS,
    servicePeriods: { type: 'array', items: { type: 'object', properties: { from: { type: 'string' }, to: { type: 'string' } } } },
  },
} as const;
const siteParams = { type: 'object', required: ['tenantId', 'siteId'], properties: { tenantId: { type: 'string', maxLength: 64 }, siteId: { type: 'string', maxLength: 40 } } } as const;
const reportBody = {
  type: 'object',
  additionalProperties: false,
  required: ['state', 'snapshotVersion', 'cdrBacklog'],
  properties: {
    state: { type: 'string', enum: [...BRANCH_STATES] },
    snapshotVersion: { type: 'integer', minimum: 0 },
    cdrBacklog: { type: 'integer', minimum: 0 },
    aloneSince: { type: ['string', 'null'], maxLength: 40 },
    seq: { type: 'integer', minimum: 0, description: 'Increases with every report; a late (older) report is ignored' },
  },
} as const;
const cdrsBody = {
  type: 'object',
  additionalProperties: false,
  required: ['cdrs'],
  properties: { cdrs: { type: 'array', maxItems: 500, items: { type: 'object', required: ['cdrId', 'tenantId'], properties: { cdrId: { type: 'string' }, tenantId: { type: 'string' } } } } },
} as const;
const snapshotOut = {
  type: 'object',
  additionalProperties: false,
  required: ['payload', 'signature'],
  properties: { payload: { type: 'string', description: 'JSON: {tenantId, siteId, version, issuedAt, config}' }, signature: { type: 'string', description: 'Ed25519 over the payload bytes, base64' } },
} as const;

/** How long without a report before the cloud shows a branch as `unreachable`. */
export const BRANCH_STALE_MS = 30_000;

/** The cloud's view of a branch: its last report, or unreachable / never-reported. */
function viewOf(s: Awaited<ReturnType<SiteRepo['status']>>, nowMs: number): { state: BranchSiteView['state']; snapshotVersion: number; cdrBacklog: number; aloneSince: string | null; reportedAt: string | null } {
  if (s === null) return { state: 'never-reported', snapshotVersion: 0, cdrBacklog: 0, aloneSince: null, reportedAt: null };
  const stale = nowMs - Date.parse(s.reportedAt) > BRANCH_STALE_MS;
  return { state: stale ? 'unreachable' : s.state, snapshotVersion: s.snapshotVersion, cdrBacklog: s.cdrBacklog, aloneSince: s.aloneSince ?? null, reportedAt: s.reportedAt };
}

/** Sites of a tenant (`/v1/tenants/:tenantId/sites`): which part of the tenant a branch server serves, its credential and its state. */
export const siteRoutes = defineRoutes((app, { redis, keys, repo }) => {
  const sites = new SiteRepo(redis, keys, repo, repo.audit);
  const out = async (tenantId: string, siteId: string, withPeriods = false) => {
    const s = await sites.get(tenantId, siteId);
    if (s === null) throw new KumoError('KUMO_ERR_NOT_FOUND', `site ${siteId} not found`, { resource: 'site', id: siteId });
    const { credentialId, credentialHash: _hash, ...rest } = s;
    return {
      ...rest,
      credentialIssued: credentialId !== null,
      branch: viewOf(await sites.status(tenantId, siteId), Date.now()),
      ...(withPeriods ? { servicePeriods: await sites.periods(tenantId, siteId) } : {}),
    };
  };
  const tags = ['tenant'];
  app.get('/sites', { schema: { tags, summary: 'Sites with a branch server, with the state each branch last reported', response: { 200: { type: 'array', items: siteOut }, ...errors() } } }, async (req) => {
    const t = tenantOf(req).id;
    return Promise.all((await sites.list(t)).map((s) => out(t, s.id)));
  });
  app.post<{ Body: SiteValue }>('/sites', { schema: { tags, summary: 'Create a site: the extensions, groups and local line its branch serves', body: siteBody, response: { 201: siteOut, ...errors(409) } } }, async (req, reply) => {
    const t = tenantOf(req).id;
    const b = req.body;
    await sites.create(t, { id: b.id, name: b.name, extensions: b.extensions, ringGroups: b.ringGroups ?? [], pickupGroups: b.pickupGroups ?? [], trunkId: b.trunkId }, actorOf(req));
    return reply.code(201).send(await out(t, b.id));
  });
  app.get<{ Params: { siteId: string } }>('/sites/:siteId', { schema: { tags, summary: "A site, its branch's state and its service periods", params: siteParams, response: { 200: siteOut, ...errors() } } }, async (req) =>
    out(tenantOf(req).id, req.params.siteId, true),
  );
  app.put<{ Params: { siteId: string }; Body: Omit<SiteValue, 'id'> }>(
    '/sites/:siteId',
    { schema: { tags, summary: 'Replace what the site contains (reaches its branch with the next snapshot)', params: siteParams, body: sitePut, response: { 200: siteOut, ...errors() } } },
    async (req) => {
      const t = tenantOf(req).id;
      const b = req.body;
      await sites.replace(t, req.params.siteId, { name: b.name, extensions: b.extensions, ringGroups: b.ringGroups ?? [], pickupGroups: b.pickupGroups ?? [], trunkId: b.trunkId }, actorOf(req));
      return out(t, req.params.siteId);
    },
  );
  app.patch<{ Params: { siteId: string }; Body: Record<string, unknown> }>(
    '/sites/:siteId',
    { schema: { tags, summary: 'Change a site (JSON Merge Patch)', params: siteParams, body: sitePatch, response: { 200: siteOut, ...errors() } } },
    async (req) => {
      const t = tenantOf(req).id;
      const cur = await sites.get(t, req.params.siteId);
      if (cur === null) throw new KumoError('KUMO_ERR_NOT_FOUND', `site ${req.params.siteId} not found`, { resource: 'site', id: req.params.siteId });
      const v = mergePatch({ name: cur.name, extensions: cur.extensions, ringGroups: cur.ringGroups, pickupGroups: cur.pickupGroups, trunkId: cur.trunkId }, req.body);
      await sites.replace(t, req.params.siteId, v, actorOf(req));
      return out(t, req.params.siteId);
    },
  );
  app.delete<{ Params: { siteId: string } }>('/sites/:siteId', { schema: { tags, summary: 'Delete a site (its credential stops working)', params: siteParams, response: { 204: { type: 'null' }, ...errors() } } }, async (req, reply) => {
    await sites.delete(tenantOf(req).id, req.params.siteId, actorOf(req));
    return reply.code(204).send();
  });
  app.post<{ Params: { siteId: string } }>(
    '/sites/:siteId/credential',
    {
      schema: {
        tags,
        summary: "Issue the site's branch credential (shown once; a previous one stops working)",
        params: siteParams,
        response: { 201: { type: 'object', required: ['credentialId', 'credential'], properties: { credentialId: { type: 'string' }, credential: { type: 'string', description: 'Shown once: KUMO_BRANCH_CREDENTIAL of the branch' } } }, ...errors() },
      },
    },
    async (req, reply) => reply.code(201).send(await sites.issueCredential(tenantOf(req).id, req.params.siteId, actorOf(req))),
  );
  app.delete<{ Params: { siteId: string } }>(
    '/sites/:siteId/credential',
    { schema: { tags, summary: "Revoke the site's branch credential (the branch gets 401 from then on)", params: siteParams, response: { 204: { type: 'null' }, ...errors() } } },
    async (req, reply) => {
      await sites.revoke(tenantOf(req).id, req.params.siteId, actorOf(req));
      return reply.code(204).send();
    },
  );
});

export interface BranchLinkOptions {
  /** Ed25519 private key that signs snapshots (KUMO_BRANCH_SIGNING_KEY); without it the branch endpoints answer 503. */
  readonly signingKey?: KeyObject | undefined;
  /** CDR stream shards of the installation (KUMO_CDR_SHARDS). */
  readonly cdrShards: number;
}

function credentialOf(req: FastifyRequest): string | undefined {
  const h = req.headers.authorization;
  return typeof h === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(h)?.[1] : undefined;
}

/** The operator's view of every branch (`/v1/branch-sites`) and the snapshot signing key. */
export function branchOperatorRoutes(o: BranchLinkOptions) {
  return defineRoutes((app, { redis, keys, repo, registry }) => {
    const sites = new SiteRepo(redis, keys, repo);
    const all = async () =>
      Promise.all((await sites.allSites()).map(async ({ tenantId, siteId }) => ({ tenantId, siteId, ...viewOf(await sites.status(tenantId, siteId), Date.now()) })));
    createBranchCloudMetrics(registry).setSource(all);
    app.get('/branch-sites', { schema: { tags: ['operator'], summary: 'Every site with a branch server and its state (unreachable: no report for 30 s)' } }, async () => all());
    app.get('/branch-signing-key', { schema: { tags: ['operator'], summary: 'The public key branches verify snapshots with (KUMO_BRANCH_CLOUD_PUBLIC_KEY)' } }, () => {
      if (!o.signingKey) throw new KumoError('KUMO_ERR_BRANCH_NOT_CONFIGURED', 'KUMO_BRANCH_SIGNING_KEY is not set');
      return { publicKey: publicKeyText(o.signingKey) };
    });
  });
}

/**
 * What a branch server calls (`/v1/branch/…`), authenticated by its site credential (not an API key):
 * the signed snapshot (conditional, long-poll), its keep-alive report, and the CDRs it made alone.
 */
export function branchLinkRoutes(o: BranchLinkOptions) {
  return defineRoutes((app, ctx: RouteContext) => {
    const { redis, keys, repo } = ctx;
    const sites = new SiteRepo(redis, keys, repo);
    const streams = new CdrStreams(redis, keys, o.cdrShards);
    const site = async (req: FastifyRequest): Promise<SiteCredentialOwner> => {
      if (!o.signingKey) throw new KumoError('KUMO_ERR_BRANCH_NOT_CONFIGURED', 'KUMO_BRANCH_SIGNING_KEY is not set');
      const cred = credentialOf(req);
      const owner = cred === undefined ? null : await sites.authenticate(cred);
      if (owner === null) throw new KumoError('KUMO_ERR_UNAUTHORIZED', 'invalid or revoked site credential');
      return owner;
    };
    const cfg = { public: true } as const;
    const security = [{ siteCredential: [] }];
    app.get<{ Querystring: { wait?: string } }>(
      '/branch/snapshot',
      {
        config: cfg,
        schema: {
          tags: ['branch'],
          summary: "The site's signed configuration snapshot. With If-None-Match: \"<version>\" and ?wait=S, waits up to S s for a newer one (304 when none)",
          security,
          querystring: { type: 'object', additionalProperties: false, properties: { wait: { type: 'string', pattern: '^([0-9]|[12][0-9]|30)$', description: 'Seconds to wait for a newer snapshot (0–30)' } } },
          response: { 200: snapshotOut, 304: { type: 'null' }, ...errors(503) },
        },
      },
      async (req, reply: FastifyReply) => {
        const owner = await site(req);
        const key = o.signingKey as KeyObject;
        const inm = req.headers['if-none-match'];
        const deadline = Date.now() + Number(req.query.wait ?? '0') * 1000;
        let closed = false;
        req.raw.once('close', () => (closed = true));
        for (;;) {
          const rec = await sites.get(owner.tenantId, owner.siteId);
          if (rec === null || rec.credentialId !== owner.credentialId) throw new KumoError('KUMO_ERR_UNAUTHORIZED', 'invalid or revoked site credential');
          const { version, config } = await sites.versioned(owner.tenantId, rec);
          const etag = `"${version}"`;
          if (inm !== etag) {
            const signed = signSnapshot({ tenantId: owner.tenantId, siteId: owner.siteId, version, issuedAt: new Date().toISOString(), config }, key);
            return reply.header('ETag', etag).header('Cache-Control', 'no-store').send(signed);
          }
          if (Date.now() >= deadline || closed) return reply.code(304).header('ETag', etag).send();
          await new Promise((r) => setTimeout(r, Math.min(1000, Math.max(0, deadline - Date.now()))));
        }
      },
    );
    app.post<{ Body: BranchReport }>(
      '/branch/status',
      { config: cfg, schema: { tags: ['branch'], summary: "The branch's keep-alive: its state, snapshot version and CDR backlog", security, body: reportBody, response: { 200: statusS, ...errors(503) } } },
      async (req) => {
        const owner = await site(req);
        return sites.report(owner.tenantId, owner.siteId, req.body);
      },
    );
    app.post<{ Body: { cdrs: Cdr[] } }>(
      '/branch/cdrs',
      {
        config: cfg,
        schema: {
          tags: ['branch'],
          summary: "CDRs the branch made while alone, into the cloud's CDR stream (billing charges each cdrId once)",
          security,
          body: cdrsBody,
          response: { 200: { type: 'object', required: ['accepted'], properties: { accepted: { type: 'integer' } } }, ...errors(403, 503) },
        },
      },
      async (req) => {
        const owner = await site(req);
        for (const c of req.body.cdrs) {
          if (c.tenantId !== owner.tenantId) throw new KumoError('KUMO_ERR_BRANCH_FOREIGN_CDR', `CDR ${c.cdrId} belongs to another tenant`, { cdrId: c.cdrId });
        }
        for (const c of req.body.cdrs) await streams.publishCdr(c);
        return { accepted: req.body.cdrs.length };
      },
    );
  });
}
