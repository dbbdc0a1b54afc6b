import { afterAll, describe, expect, inject, it } from 'vitest';
import { buildCdr } from '@kumo/domain';
import { createBillingMetrics, createRegistry, silentLogger } from '@kumo/runtime';
import { BillingLedger, CdrStreams, createRedis, keySchema } from '@kumo/store';
import { uniquePrefix } from '@kumo/testkit';
import { BillingWorker } from '@kumo/billing';
import { waitFor } from './helpers.js';

const redis = createRedis(inject('redisUrl'));
afterAll(() => redis.disconnect());

function cdr(tenantId: string, i: number) {
  const t = Date.now() - 60_000;
  return buildCdr({
    tenantId,
    aLegCallId: `c${i}`,
    aLegFromTag: 'f',
    direction: 'outbound',
    caller: { dialled: '100', extension: '100' },
    callee: { dialled: '09012345678', e164: '+819012345678' },
    trunkId: 'tr',
    startedAt: t,
    answeredAt: t + 1000,
    endedAt: t + 62_000,
    finalStatus: 200,
  });
}

describe('billing worker: poison entries and retries', () => {
  it('invalid entries go to dead letters at once; failing ones after maxDeliveries; replay charges them', async () => {
    const keys = keySchema(uniquePrefix('bw'));
    const streams = new CdrStreams(redis, keys, 2);
    const ledger = new BillingLedger(redis, keys, { closeGraceMs: 86400_000, tariffCacheMs: 0 });
    const registry = createRegistry('billing-test');
    const metrics = createBillingMetrics(registry);
    const worker = new BillingWorker(
      redis, streams, ledger,
      { consumer: 'w', batchSize: 50, blockMs: 50, claimIdleMs: 200, maxDeliveries: 3, retentionMs: 0, trimIntervalMs: 100, closeCheckMs: 1000 },
      silentLogger(), metrics,
    );
    await worker.start();
    try {
      await redis.xadd(keys.global.cdrStream(0), '*', 'cdr', '{not json');
      await redis.xadd(keys.global.cdrStream(1), '*', 'cdr', JSON.stringify({ ...cdr('good', 1), billableSeconds: -5 }));
      // a tenant whose stored tariff override is broken: rating fails until an operator fixes it
      await redis.set(keys.tenant.billTariff('broken'), JSON.stringify({ classes: { mobile: { unitSeconds: 0 } } }));
      await streams.publishCdr(cdr('broken', 2));
      await streams.publishCdr(cdr('good', 3));
      await waitFor('3 dead letters', async () => (await streams.deadLetterCount()) === 3, 15000);
      const dl = await streams.listDeadLetters({ count: 10 });
      expect(dl.map((d) => d.error)).toEqual(
        expect.arrayContaining(['cdr field is not JSON', 'invalid CDR fields: billableSeconds', expect.stringContaining('stored tariff of broken is invalid')]),
      );
      expect(dl.find((d) => d.error.includes('broken'))!.deliveries).toBeGreaterThanOrEqual(3);
      expect((await ledger.getMonthlyReport('good', ledgerMonth())).main.calls).toBe(1);
      // operator fixes the tariff and replays the dead letter
      await ledger.setTenantOverride('broken', { classes: { mobile: { unitSeconds: 30, unitPrice: 100 } } }, 'op');
      await streams.replayDeadLetter(dl.find((d) => d.error.includes('broken'))!.id);
      await waitFor('replayed CDR charged', async () => (await ledger.getMonthlyReport('broken', ledgerMonth())).main.calls === 1, 10000);
      expect((await ledger.getMonthlyReport('broken', ledgerMonth())).main.charge).toBe(300);
      const text = await registry.metrics();
      expect(text).toMatch(/kumo_billing_cdrs_total\{outcome="dead_letter",proc="billing-test"\} 3/);
      expect(text).toMatch(/kumo_billing_cdrs_total\{outcome="charged",proc="billing-test"\} 2/);
      await waitFor('gauges refreshed', async () => /kumo_billing_dead_letters\{proc="billing-test"\} 2/.test(await registry.metrics()), 5000);
    } finally {
      await worker.stop();
    }
  });
});

function ledgerMonth(): string {
  const d = new Date(Date.now() - 60_000 + 9 * 3600_000);
  return `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
}
