/**
 * Two things the billing worker does besides charging: it adds the rated charge of international and premium-rate
 * calls to the tenant's hourly toll spend once per CDR (docs/security.md, "Toll-fraud guard"), and it acknowledges
 * the ops prober's test calls without billing them (docs/operations.md, "Probe account").
 */
import { afterAll, describe, expect, inject, it } from 'vitest';
import { PROBE_TENANT_ID, buildCdr } from '@kumo/domain';
import { createBillingMetrics, createRegistry, silentLogger } from '@kumo/runtime';
import { BillingLedger, CdrStreams, TollFraudStore, createRedis, keySchema } from '@kumo/store';
import { uniquePrefix } from '@kumo/testkit';
import { BillingWorker } from '@kumo/billing';
import { waitFor } from './helpers.js';

const redis = createRedis(inject('redisUrl'));
afterAll(() => redis.disconnect());

function cdr(tenantId: string, id: string, dialled: string, e164: string, seconds: number, direction: 'outbound' | 'internal' = 'outbound') {
  const t = Date.now() - 120_000;
  return buildCdr({
    tenantId, aLegCallId: id, aLegFromTag: 'f', direction, caller: { dialled: '100', extension: '100' },
    callee: { dialled, e164, ...(direction === 'internal' ? { extension: dialled } : {}) }, trunkId: direction === 'internal' ? undefined : 'tr',
    startedAt: t, answeredAt: t + 1000, endedAt: t + 1000 + seconds * 1000, finalStatus: 200,
  } as Parameters<typeof buildCdr>[0]);
}

describe('billing worker: toll spend and probe calls', () => {
  it('adds each toll-class charge once (redelivery included), ignores domestic calls, and skips probe-tenant CDRs', async () => {
    const keys = keySchema(uniquePrefix('bts'));
    const streams = new CdrStreams(redis, keys, 1);
    const ledger = new BillingLedger(redis, keys, { closeGraceMs: 86400_000, tariffCacheMs: 0 });
    const registry = createRegistry('billing-toll');
    const toll = new TollFraudStore(redis, keys);
    const worker = new BillingWorker(
      redis, streams, ledger,
      { consumer: 'w', batchSize: 50, blockMs: 50, claimIdleMs: 200, maxDeliveries: 3, retentionMs: 0, trimIntervalMs: 100, closeCheckMs: 1000 },
      silentLogger(), createBillingMetrics(registry), toll,
    );
    await worker.start();
    try {
      const uk = cdr('acme', 'uk1', '0010442071234567', '+442071234567', 90); // 2 started minutes × 12 JPY
      await streams.publishCdr(uk);
      await streams.publishCdr(cdr('acme', 'dom1', '0312345678', '+81312345678', 600));
      await streams.publishCdr(uk); // the same CDR again (a redelivery after a crash): charged once, spent once
      await streams.publishCdr(cdr(PROBE_TENANT_ID, 'probe1', '9902', '9902', 1, 'internal'));
      await waitFor('4 entries handled', async () => /kumo_billing_cdrs_total\{outcome="probe",proc="billing-toll"\} 1/.test(await registry.metrics()) &&
        /kumo_billing_cdrs_total\{outcome="duplicate",proc="billing-toll"\} 1/.test(await registry.metrics()), 15_000);
      expect((await toll.status('acme')).thisHour.spend).toBe(2 * 1200);
      expect(await redis.keys(`${keys.prefix}*${PROBE_TENANT_ID}*bill*`)).toEqual([]);
    } finally {
      await worker.stop();
    }
  });
});
