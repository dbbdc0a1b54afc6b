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
    const store = new TollFraudStore(redis, keySchema(uniquePrefix('toll')), { internationalPerHour: 30, premiumPerHour: 10 });
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
    const store = new TollFraudStore(redis, keySchema(uniquePrefix('toll')), { internationalPerHour: 0, premiumPerHour: 2 });
    const guard = createTollGuard(store, createSecurityMetrics(registry), silentLogger());
    expect((await guard(tenant, plan('+442071234567')))?.code).toBe('toll-fraud-guard');
    const premium = [await guard(tenant, plan('0990111111')), await guard(tenant, plan('0570111111')), await guard(tenant, plan('0180111111'))];
    expect(premium.map((v) => v?.status)).toEqual([undefined, undefined, 403]);
    expect(await metric(registry, 'kumo_toll_fraud_trips_total', 'premium')).toBe(1);
  });
});
