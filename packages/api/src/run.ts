import { apiSpec, branchCloudSpec, cdrStreamSpec, commonSpec, engineSpec, opsSpec, readConfig, ConfigError } from '@kumo/config';
import { createOpsMetrics, type ProcessContext } from '@kumo/runtime';
import { AuditRepo, DataQuotaStore, ProvisioningRepo, TenantDataLifecycle, createRedis, keySchema, loadSigningKey, redactUrl, secretBox } from '@kumo/store';
import { buildApp } from './app.js';
import { Prober } from './ops/prober.js';

/**
 * Entry point of `kumo api`: reads `common` + `api` config from `ctx.env` (all problems at
 * once), connects to Redis, listens, registers closers. Resolves once listening.
 * Returns the bound address (useful with `KUMO_API_LISTEN=127.0.0.1:0`).
 */
export async function runApi(ctx: ProcessContext): Promise<{ host: string; port: number; url: string }> {
  // The engine's SIP addresses too: a trunk gateway may not point at Kumo itself (and the prober pings them).
  const cfg = readConfig({ common: commonSpec, api: apiSpec, ops: opsSpec, cdr: cdrStreamSpec, engine: engineSpec, branch: branchCloudSpec }, ctx.env);
  let branchSigningKey;
  try {
    branchSigningKey = cfg.branch.signingKey === undefined ? undefined : loadSigningKey(cfg.branch.signingKey);
    if (branchSigningKey !== undefined && branchSigningKey.asymmetricKeyType !== 'ed25519') throw new Error('not an Ed25519 key');
  } catch (err) {
    throw new ConfigError([`KUMO_BRANCH_SIGNING_KEY=<redacted>: not a usable Ed25519 private key (${(err as Error).message})`]);
  }
  const ownSipAddresses = [
    ...cfg.engine.sipListen.map((l) => ({ host: l.host, port: l.port })),
    ...(cfg.engine.sipAdvertisedHost !== undefined ? cfg.engine.sipListen.map((l) => ({ host: cfg.engine.sipAdvertisedHost ?? '', port: l.port })) : []),
  ];
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
    ownSipAddresses,
    cdrShards: cfg.cdr.shards,
    ...(branchSigningKey ? { branchSigningKey } : {}),
    retainBillingDays: cfg.api.retainBillingDays,
    ...(cfg.common.secretKey ? { secretKey: cfg.common.secretKey } : {}),
    security: {
      authFailLimit: cfg.api.authFailLimit,
      authFailWindowMs: cfg.api.authFailWindowSec * 1000,
      tenantWriteBurst: cfg.api.tenantWriteBurst,
      tenantWriteRate: cfg.api.tenantWriteRate,
      auditQuotaEntries: cfg.api.auditQuotaEntries,
      cdrDetailRetentionMaxDays: cfg.api.cdrDetailRetentionMaxDays,
      ticketsQuota: cfg.api.ticketsQuota,
      ticketNotesMax: cfg.api.ticketNotesMax,
    },
  });
  ctx.lifecycle.onClose('api-http', () => app.close());
  // References written before the index existed (docs/api.md, references and the delete policy).
  const rebuilt = await new ProvisioningRepo(redis, keySchema(cfg.common.redisKeyPrefix)).ensureReferences();
  if (rebuilt.length > 0) log.info({ tenants: rebuilt.length }, 'references index rebuilt');
  // The retention job (docs/security.md): expired retention sets of purged tenants.
  const keys = keySchema(cfg.common.redisKeyPrefix);
  const lifecycle = new TenantDataLifecycle(redis, keys, { retainBillingMs: cfg.api.retainBillingDays * 86_400_000 });
  const audit = new AuditRepo(redis, keys);
  const quotas = new DataQuotaStore(redis, keys, { cdrDetailRetentionDays: cfg.api.cdrDetailRetentionMaxDays, ticketsMax: cfg.api.ticketsQuota });
  const sweep = (): void => {
    Promise.all([lifecycle.sweepRetention(), lifecycle.trimAudit(audit, cfg.api.auditRetentionDays * 86_400_000), quotas.trimCdrDetail()]).then(
      ([sets, entries, calls]) => {
        if (sets > 0 || entries > 0 || calls > 0) log.info({ deletedSets: sets, auditEntriesTrimmed: entries, cdrDetailTrimmed: calls }, 'retention job done');
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
  // The synthetic prober (docs/operations.md, "Probes and incidents"): its own Redis connection, so
  // a slow probe never queues behind API traffic; one prober per installation holds a lease.
  if (cfg.ops.probe) {
    const probeRedis = createRedis(redisUrl, { commandTimeout: cfg.ops.timeoutMs });
    const { probe: _probe, ...rest } = cfg.ops;
    // Default targets: the engine's own UDP and TCP listen addresses (a wildcard bind is probed on loopback).
    const engines = rest.engines.length > 0
      ? rest.engines
      : cfg.engine.sipListen.filter((l) => l.proto === 'udp' || l.proto === 'tcp').map((l) => ({ ...l, host: l.host === '0.0.0.0' ? '127.0.0.1' : l.host === '::' ? '::1' : l.host }));
    const settings = { ...rest, engines };
    const prober = new Prober({
      redis: probeRedis, keys: keySchema(cfg.common.redisKeyPrefix), log: log.child({ component: 'prober' }),
      metrics: createOpsMetrics(ctx.registry), settings, cdrShards: cfg.cdr.shards,
      secrets: cfg.common.secretKey ? secretBox(cfg.common.secretKey) : undefined,
    });
    prober.start();
    ctx.lifecycle.onClose('ops-prober', async () => {
      await prober.close();
      probeRedis.disconnect();
    });
  }
  return { host, port, url };
}
