import { apiSpec, commonSpec, readConfig, ConfigError } from '@kumo/config';
import type { ProcessContext } from '@kumo/runtime';
import { TenantDataLifecycle, createRedis, keySchema, redactUrl } from '@kumo/store';
import { buildApp } from './app.js';

/**
 * Entry point of `kumo api`: reads `common` + `api` config from `ctx.env` (all problems at
 * once), connects to Redis, listens, registers closers. Resolves once listening.
 * Returns the bound address (useful with `KUMO_API_LISTEN=127.0.0.1:0`).
 */
export async function runApi(ctx: ProcessContext): Promise<{ host: string; port: number; url: string }> {
  const cfg = readConfig({ common: commonSpec, api: apiSpec }, ctx.env);
  const redisUrl = cfg.common.redisUrl;
  if (redisUrl === undefined) throw new ConfigError(['KUMO_REDIS_URL: must be set for `kumo api` (kumo up sets it for its children)']);
  const log = ctx.log.child({ area: 'api' });
  // A stuck Redis must not hang API requests: fail them (503) after the command timeout.
  const redis = createRedis(redisUrl, { commandTimeout: cfg.api.redisTimeoutMs });
  ctx.lifecycle.onClose('api-redis', async () => {
    await redis.quit().catch(() => redis.disconnect());
  });
  const app = await buildApp({
    redis,
    keys: keySchema(cfg.common.redisKeyPrefix),
    log,
    registry: ctx.registry,
    bodyLimit: cfg.api.bodyLimit,
    docs: cfg.api.docs,
    trustProxy: cfg.api.trustProxy,
    retainBillingDays: cfg.api.retainBillingDays,
    security: {
      authFailLimit: cfg.api.authFailLimit,
      authFailWindowMs: cfg.api.authFailWindowSec * 1000,
      tenantWriteBurst: cfg.api.tenantWriteBurst,
      tenantWriteRate: cfg.api.tenantWriteRate,
    },
  });
  ctx.lifecycle.onClose('api-http', () => app.close());
  // The retention job (docs/security.md): expired retention sets of purged tenants.
  const lifecycle = new TenantDataLifecycle(redis, keySchema(cfg.common.redisKeyPrefix), { retainBillingMs: cfg.api.retainBillingDays * 86_400_000 });
  const sweep = (): void => {
    lifecycle.sweepRetention().then(
      (n) => {
        if (n > 0) log.info({ deletedSets: n }, 'retention job deleted expired retention sets');
      },
      (err: unknown) => log.warn({ err }, 'retention job failed; retried at the next run'),
    );
  };
  const timer = setInterval(sweep, cfg.api.retentionSweepSec * 1000);
  timer.unref();
  ctx.lifecycle.onClose('api-retention-job', () => clearInterval(timer));
  await app.listen({ host: cfg.api.listen.host, port: cfg.api.listen.port });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : cfg.api.listen.port;
  const host = cfg.api.listen.host;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  log.info({ url, redis: redactUrl(redisUrl), docs: cfg.api.docs ? `${url}/docs` : undefined }, 'provisioning API listening');
  return { host, port, url };
}
