import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { Registry } from 'prom-client';
import { isProbeTenant } from '@kumo/domain';
import { KumoError, createApiMetrics, silentLogger, type ApiMetrics } from '@kumo/runtime';
import { ApiRateLimits, DEFAULT_BILLING_RETENTION_MS, DataQuotaStore, ProvisioningRepo, pingRedis, secretBox } from '@kumo/store';
import type { ApiDeps, ApiRoutePlugin, RouteContext } from './context.js';
import { errorSchema, installErrorHandling, notFound, type ErrorBody } from './errors.js';
import { branchLinkRoutes, branchOperatorRoutes } from './routes/sites.js';
import { routePlugins } from './routes/index.js';
import { configHistoryFor } from './routes/config-history.js';
import { ConsoleAuth, registerConsole } from './console/index.js';
import { AuthFailureGuard, DEFAULT_SECURITY, checkAuditQuota, clientErrorHandler, installHygiene, isWrite, takeTenantWrite } from './hygiene.js';

export const DEFAULT_BODY_LIMIT = 262_144;

const metricsByRegistry = new WeakMap<Registry, ApiMetrics>();
function metricsFor(registry: Registry): ApiMetrics {
  let m = metricsByRegistry.get(registry);
  if (m === undefined) {
    m = createApiMetrics(registry);
    metricsByRegistry.set(registry, m);
  }
  return m;
}

function bearer(req: FastifyRequest): string | undefined {
  const h = req.headers.authorization;
  if (typeof h !== 'string') return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  return m?.[1];
}

/**
 * Builds the provisioning API (not listening). Tests use `app.inject()`; `runApi` listens.
 * Routes: `/v1/…` (Bearer auth), `/healthz`, `/readyz`, `/metrics`, `/docs` (OpenAPI UI) and `/docs/json`.
 */
export async function buildApp(deps: ApiDeps): Promise<FastifyInstance> {
  const log = deps.log ?? silentLogger();
  const registry = deps.registry ?? new Registry();
  const metrics = metricsFor(registry);
  const repo = new ProvisioningRepo(deps.redis, deps.keys, deps.now, {
    retainBillingMs: (deps.retainBillingDays ?? DEFAULT_BILLING_RETENTION_MS / 86_400_000) * 86_400_000,
  }).useSecrets(deps.secretKey ? secretBox(deps.secretKey) : undefined);
  const security = { ...DEFAULT_SECURITY, ...(deps.security ?? {}) };
  const dataQuotas = new DataQuotaStore(deps.redis, deps.keys, { cdrDetailRetentionDays: security.cdrDetailRetentionMaxDays, ticketsMax: security.ticketsQuota });
  const ctx: RouteContext = {
    redis: deps.redis, keys: deps.keys, repo, log, registry, ownSipAddresses: deps.ownSipAddresses ?? [], dataQuotas, ticketNotesMax: security.ticketNotesMax,
  };
  const consoleAuth = new ConsoleAuth(deps.redis, deps.keys, deps.console);
  const limits = new ApiRateLimits(deps.redis, deps.keys);
  const authGuard = new AuthFailureGuard(limits, security, log);

  // Typed as fastify's logger so the instance is the plain FastifyInstance plugins expect.
  const fastifyLog: FastifyBaseLogger = log;
  const app = Fastify({
    loggerInstance: fastifyLog,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: deps.bodyLimit ?? DEFAULT_BODY_LIMIT,
    trustProxy: deps.trustProxy ?? false,
    return503OnClosing: true,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: true, useDefaults: false } },
    routerOptions: { ignoreTrailingSlash: true },
    // Errors raised before routing (bad URL encoding) get the same body as every other error,
    // without echoing the URL (it may be 10 KB of an anonymous caller's bytes).
    frameworkErrors: (_err, _req, reply) => {
      const body: ErrorBody = { code: 'KUMO_ERR_BAD_REQUEST', message: 'the URL is not valid (bad percent-encoding)', details: {} };
      void (reply as FastifyReply).code(400).send(body);
    },
    // Connection-level errors (431, malformed requests) in the one error shape.
    clientErrorHandler,
  });
  // JSON only: without this, fastify would also accept text/plain bodies.
  app.removeContentTypeParser('text/plain');
  await installHygiene(app);

  app.decorateRequest('principal', null);
  app.decorateRequest('tenant', null);
  consoleAuth.install(app);
  app.addSchema(errorSchema);
  installErrorHandling(app, (code) => metrics.contractRejections.inc({ code }));

  // Metrics: route templates only (bounded labels).
  app.addHook('onResponse', async (req: FastifyRequest, reply: FastifyReply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    metrics.requests.inc({ method: req.method, route, status: String(reply.statusCode) });
    metrics.duration.observe({ method: req.method, route }, reply.elapsedTime / 1000);
  });

  // Authentication: every route but the public ones and the docs.
  app.addHook('onRequest', async (req: FastifyRequest) => {
    const route = req.routeOptions.url ?? '';
    if (req.routeOptions.config.public === true || route === '/docs' || route.startsWith('/docs/')) return;
    await authGuard.check(req);
    const key = bearer(req);
    if (key === undefined) {
      // People in the console: a session cookie (with CSRF checks) stands for an API key.
      const viaSession = await consoleAuth.principalOf(req);
      if (viaSession === null) return authGuard.fail(req, 'missing Authorization: Bearer <API key>');
      req.principal = viaSession;
      return;
    }
    const principal = await repo.apiKeys.authenticate(key);
    if (principal === null) return authGuard.fail(req, 'invalid or revoked API key');
    req.principal = principal;
  });

  if (deps.docs !== false) {
    await app.register(swagger, {
      openapi: {
        openapi: '3.0.3',
        info: {
          title: 'Kumo provisioning API',
          version: '1',
          description: 'Tenants, contracts and PBX configuration. Errors: `{code, message, details}` with stable KUMO_ERR_* codes.',
        },
        components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'Operator or tenant-admin API key' }, siteCredential: { type: 'http', scheme: 'bearer', description: 'Site credential of a branch server (docs/branch.md)' } } },
        security: [{ bearer: [] }],
        tags: [
          { name: 'operator', description: 'Platform operators' },
          { name: 'tenant', description: 'Tenant admins (own tenant) and operators' },
          { name: 'ops', description: 'Health and metrics' },
          { name: 'branch', description: 'Survivable branch servers (site credential)' },
        ],
      },
      refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
    });
    await app.register(swaggerUi, { routePrefix: '/docs' });
  }

  await registerConsole(app, { redis: deps.redis, keys: deps.keys, repo, auth: consoleAuth });

  const ops = { config: { public: true } } as const;
  app.get('/healthz', { ...ops, schema: { tags: ['ops'], summary: 'Liveness', security: [] } }, () => ({ status: 'ok' }));
  app.get('/readyz', { ...ops, schema: { tags: ['ops'], summary: 'Readiness: Redis reachable', security: [] } }, async (_req, reply) => {
    const ok = await pingRedis(deps.redis, 1000);
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ready' : 'not-ready', redis: ok });
  });
  app.get('/metrics', { ...ops, schema: { tags: ['ops'], summary: 'Prometheus metrics', security: [], hide: false } }, async (_req, reply) =>
    reply.type(registry.contentType).send(await registry.metrics()),
  );

  const branch = { signingKey: deps.branchSigningKey, cdrShards: deps.cdrShards ?? 1 };
  const all: readonly ApiRoutePlugin[] = [
    ...routePlugins,
    // Survivable branch servers (docs/branch.md): the routes a branch calls with its site credential, the operators' view.
    { name: 'branch-link', scope: 'authenticated', plugin: branchLinkRoutes(branch) },
    { name: 'branch-operator', scope: 'operator', plugin: branchOperatorRoutes(branch) },
    ...(deps.plugins ?? []),
  ];
  // Configuration history (docs/operations.md): records every successful tenant configuration change.
  configHistoryFor(ctx).install(app);

  // /v1 (authenticated) and /v1 (operators only)
  await app.register(
    async (v1) => {
      for (const p of all.filter((x) => x.scope === 'authenticated')) await v1.register(p.plugin, ctx);
      await v1.register(async (opScope) => {
        opScope.addHook('onRequest', (req: FastifyRequest, _reply: FastifyReply, done: (err?: Error) => void) => {
          if (req.principal?.role !== 'operator') done(new KumoError('KUMO_ERR_FORBIDDEN', 'operator key required'));
          else done();
        });
        for (const p of all.filter((x) => x.scope === 'operator')) await opScope.register(p.plugin, ctx);
      });
      await v1.register(
        async (tScope) => {
          tScope.addHook('onRequest', async (req: FastifyRequest) => {
            const p = req.principal;
            if (p === null) throw new KumoError('KUMO_ERR_UNAUTHORIZED', 'authentication required');
            const id = (req.params as { tenantId?: string }).tenantId ?? '';
            // A tenant admin cannot tell another tenant from a missing one.
            if (p.role === 'tenant-admin' && p.tenantId !== id) throw notFound('tenant', id);
            // The platform's probe account (docs/operations.md) is no tenant of the API's.
            const t = isProbeTenant(id) ? null : await repo.tenantById(id);
            if (t === null) throw notFound('tenant', id);
            if (req.routeOptions.config.operatorOnly === true && p.role !== 'operator') {
              throw new KumoError('KUMO_ERR_FORBIDDEN', 'operator key required');
            }
            if (p.role === 'tenant-admin' && t.status === 'suspended' && req.method !== 'GET' && req.method !== 'HEAD') {
              throw new KumoError('KUMO_ERR_TENANT_SUSPENDED', 'the tenant is suspended: configuration is read-only', { tenantId: t.id });
            }
            // A terminated tenant is read-only for everyone; only its deletion (purge) remains.
            if (t.status === 'terminated' && isWrite(req.method) && req.routeOptions.config.allowTerminated !== true) {
              throw new KumoError('KUMO_ERR_TENANT_TERMINATED', 'the tenant is terminated: its data is read-only until it is deleted');
            }
            if (p.role === 'tenant-admin' && isWrite(req.method)) {
              await takeTenantWrite(limits, security, t.id);
              await checkAuditQuota(repo.audit, security, t.id);
            }
            req.tenant = t;
          });
          for (const p of all.filter((x) => x.scope === 'tenant')) await tScope.register(p.plugin, ctx);
        },
        { prefix: '/tenants/:tenantId' },
      );
      v1.get('/me', { schema: { tags: ['tenant'], summary: 'The calling API key' } }, (req) => ({
        id: req.principal?.id,
        role: req.principal?.role,
        tenantId: req.principal?.tenantId ?? null,
        name: req.principal?.name,
      }));
    },
    { prefix: '/v1' },
  );

  return app;
}
