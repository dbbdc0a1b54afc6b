/**
 * Toll-fraud guard (docs/security.md): a burst of international calls trips the tenant's hourly
 * limit, the class is blocked, the alert's metric moves; an operator override lets calls through.
 */
import { afterAll, describe, expect, inject, it } from 'vitest';
import { Registry } from 'prom-client';
import type { RoutePlan, Tenant } from '@kumo/domain';
import { createSecurityMetrics, silentLogger } from '@kumo/runtime';
import { TollFraudStore, createRedis, keySchema } from '@kumo/store';
import { createTollGuard } from '@kumo/sip';
import { uniquePrefix } from '@kumo/testkit';

const redis = createRedis(inject('redisUrl'));
afterAll(() => redis.disconnect());

const tenant = { id: 'tf', sipDomain: 'tf.test' } as Tenant;
const plan = (number: string, emergency = false) =>
  ({ steps: [{ kind: 'trunk', emergency, number, index: 0, trunkId: 'main' }] }) as unknown as RoutePlan;

async function metric(registry: Registry, name: string, cls: string): Promise<number> {
  const m = (await registry.getMetricsAsJSON()).find((x) => x.name === name);
  return Number(m?.values.find((v) => v.labels.class === cls)?.value ?? 0);
}

describe('toll-fraud guard', () => {
  it('trips on a burst of international calls, blocks the class, moves the alert metric; an operator override lifts it', async () => {
    const registry = new Registry();
    const store = new TollFraudStore(redis, keySchema(uniquePrefix('toll')), { internationalPerHour: 30, premiumPerHour: 10, spendPerHour: 1_000_000 });
    const guard = createTollGuard(store, createSecurityMetrics(registry), silentLogger());
    const verdicts = await Promise.all(Array.from({ length: 40 }, (_, i) => guard(tenant, plan(`+1415555${String(i).padStart(4, '0')}`))));
    expect(verdicts.filter((v) => v === undefined)).toHaveLength(30);
    expect(verdicts.filter((v) => v !== undefined).every((v) => v?.status === 403 && v.headers['X-Kumo-Reason'] === 'toll-fraud-guard')).toBe(true);
    expect(await metric(registry, 'kumo_toll_fraud_trips_total', 'international')).toBe(1);
    expect(await metric(registry, 'kumo_toll_fraud_refused_calls_total', 'international')).toBe(10);
    // Other classes go on: a domestic call, an emergency leg, a premium-rate call under its limit.
    expect(await guard(tenant, plan('0312345678'))).toBeUndefined();
    expect(await guard(tenant, plan('+14155550000', true))).toBeUndefined();
    expect(await guard(tenant, plan('0990123456'))).toBeUndefined();
    // Blocked until an operator acts (010 dialling counts as international too).
    expect((await guard(tenant, plan('0101415555000')))?.status).toBe(403);
    const status = await store.status('tf');
    expect(status.blocked.map((b) => b.cls)).toEqual(['international']);
    expect(status.thisHour.premium).toBe(1);
    expect(await store.unblock('tf', 'international', 3_600_000)).toBe(true);
    expect(await guard(tenant, plan('+14155550001'))).toBeUndefined();
    expect((await store.status('tf')).overrides.map((o) => o.cls)).toEqual(['international']);
  });

  it('premium-rate calls have their own limit; 0 blocks the class', async () => {
    const registry = new Registry();
    const store = new TollFraudStore(redis, keySchema(uniquePrefix('toll')), { internationalPerHour: 0, premiumPerHour: 2, spendPerHour: 1_000_000 });
    const guard = createTollGuard(store, createSecurityMetrics(registry), silentLogger());
    expect((await guard(tenant, plan('+442071234567')))?.code).toBe('toll-fraud-guard');
    const premium = [await guard(tenant, plan('0990111111')), await guard(tenant, plan('0570111111')), await guard(tenant, plan('0180111111'))];
    expect(premium.map((v) => v?.status)).toEqual([undefined, undefined, 403]);
    expect(await metric(registry, 'kumo_toll_fraud_trips_total', 'premium')).toBe(1);
  });

  it('the rated spend: added once per CDR; at the limit both toll classes trip, domestic calls go on; an override lifts it', async () => {
    const registry = new Registry();
    const store = new TollFraudStore(redis, keySchema(uniquePrefix('toll')), { internationalPerHour: 100, premiumPerHour: 100, spendPerHour: 5000 });
    const guard = createTollGuard(store, createSecurityMetrics(registry), silentLogger());
    expect(await guard(tenant, plan('+442071234567'))).toBeUndefined();
    expect(await store.addSpend('tf', 'cdr-1', 3000)).toEqual({ added: true, spend: 3000 });
    expect(await store.addSpend('tf', 'cdr-1', 3000)).toEqual({ added: false, spend: 3000 }); // a redelivery adds nothing
    expect(await guard(tenant, plan('+442071234567'))).toBeUndefined(); // 3,000 < 5,000
    expect(await store.addSpend('tf', 'cdr-2', 2000)).toEqual({ added: true, spend: 5000 });
    const refused = await guard(tenant, plan('+442071234567'));
    expect(refused).toMatchObject({ status: 403, headers: { 'X-Kumo-Reason': 'toll-fraud-guard' } });
    expect(refused?.headers.Reason).toContain('hourly spend limit reached');
    expect((await guard(tenant, plan('0990123456')))?.status).toBe(403); // the limit covers both classes
    expect(await guard(tenant, plan('0312345678'))).toBeUndefined();
    expect(await metric(registry, 'kumo_toll_fraud_spend_trips_total', 'international')).toBe(1);
    expect(await metric(registry, 'kumo_toll_fraud_spend_trips_total', 'premium')).toBe(1);
    const status = await store.status('tf');
    expect(status.thisHour.spend).toBe(5000);
    expect(status.blocked).toContainEqual(expect.objectContaining({ cls: 'international', reason: 'spend', spend: 5000, spendLimit: 5000 }));
    await store.unblock('tf', 'international', 3_600_000);
    expect(await guard(tenant, plan('+442071234567'))).toBeUndefined();
  });
});
