import { admissionSpec, billingSpec, cdrStreamSpec, commonSpec, ConfigError, readConfig } from '@kumo/config';
import { createBillingMetrics, startOpsServer, type ProcessContext } from '@kumo/runtime';
import { BillingLedger, CallRecordStore, CdrStreams, TollFraudStore, createRedis, keySchema, pingRedis, redactUrl } from '@kumo/store';
import { hostname } from 'node:os';
import { TollMeter } from './toll-meter.js';
import { BillingWorker } from './worker.js';

/** `kumo billing`: reads its config, starts the worker loops and the ops server, resolves when serving. */
export async function runBilling(ctx: ProcessContext): Promise<void> {
  const { common, billing, cdr, admission } = readConfig({ common: commonSpec, billing: billingSpec, cdr: cdrStreamSpec, admission: admissionSpec }, ctx.env);
  if (common.redisUrl === undefined) throw new ConfigError(['KUMO_REDIS_URL: required by the billing worker']);
  const log = ctx.log.child({ component: 'billing' });
  const consumer = billing.consumer === '' ? hostname().replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 64) : billing.consumer;
  // Commands wait for Redis to come back (reconnect) instead of failing: nothing is acknowledged until charged.
  const redis = createRedis(common.redisUrl, { maxRetriesPerRequest: null });
  let lastErrorLog = 0;
  redis.on('error', (err: Error) => {
    if (Date.now() - lastErrorLog > 5000) {
      lastErrorLog = Date.now();
      log.warn({ err: err.message }, 'redis connection error (retrying)');
    }
  });
  ctx.lifecycle.onClose('redis', async () => {
    await redis.quit().catch(() => redis.disconnect());
  });
  const keys = keySchema(common.redisKeyPrefix);
  const streams = new CdrStreams(redis, keys, cdr.shards);
  const ledger = new BillingLedger(redis, keys, { closeGraceMs: billing.closeGraceMs });
  const metrics = createBillingMetrics(ctx.registry);
  // The platform's toll limits (tenants may have their own): what the toll meter's cut-off compares the spend with.
  const toll = new TollFraudStore(redis, keys, {
    internationalPerHour: admission.tollInternationalPerHour,
    premiumPerHour: admission.tollPremiumPerHour,
    spendPerHour: admission.tollSpendPerHour,
  });
  const worker = new BillingWorker(redis, streams, ledger, { ...billing, consumer }, log, metrics, toll);
  await worker.start();
  ctx.lifecycle.onClose('billing-worker', () => worker.stop());
  // Calls in progress count against the toll spend limit before their CDR (docs/security.md); the records are only read.
  const meter = new TollMeter({
    records: new CallRecordStore(redis, keys, `billing:${consumer}`),
    ledger,
    toll,
    intervalMs: billing.tollMeterMs,
    log: log.child({ component: 'toll-meter' }),
    ...(billing.tollCutOff ? { cut: async (tenantId: string, callKey: string) => void (await redis.publish(keys.global.tollCutChannel(), JSON.stringify({ tenantId, callKey }))) } : {}),
  });
  meter.start();
  ctx.lifecycle.onClose('toll-meter', () => meter.close());
  const ops = await startOpsServer({ host: billing.opsListen.host, port: billing.opsListen.port, registry: ctx.registry, ready: () => pingRedis(redis) });
  ctx.lifecycle.onClose('ops-server', ops.close);
  log.info({ consumer, shards: cdr.shards, redis: redactUrl(common.redisUrl), ops: `${billing.opsListen.host}:${ops.port}` }, 'billing worker started');
}
