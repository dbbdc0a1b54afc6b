import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { validateExtension, validateTenantCreate, validateTrunk, type TrunkInput } from '@kumo/domain';
import { CachedDirectoryRepo, CONFIG_CACHE_FRESH_MS, ProvisioningRepo, SYSTEM_ACTOR, createRedis, keySchema, type KeySchema, type RedisClient } from '@kumo/store';
import { uniquePrefix } from '@kumo/testkit';

let redis: RedisClient;
let keys: KeySchema;
let repo: ProvisioningRepo;

function ok<T>(v: { ok: true; value: T } | { ok: false; problems: readonly unknown[] }): T {
  if (!v.ok) throw new Error(JSON.stringify(v.problems));
  return v.value;
}

beforeAll(async () => {
  redis = createRedis(inject('redisUrl'));
  keys = keySchema(uniquePrefix('cdir'));
  repo = new ProvisioningRepo(redis, keys);
  await repo.createTenant(ok(validateTenantCreate({ id: 'tc', name: 'tc', sipDomain: 'tc.cache.test', ports: 100, trunkChannels: 10, callsPerSecond: 5 })), SYSTEM_ACTOR);
  await repo.createExtension('tc', ok(validateExtension({ number: '1001', displayName: 'Before', password: 'secret-1001' })), SYSTEM_ACTOR);
});
afterAll(() => redis.disconnect());

describe('CachedDirectoryRepo: tenant configuration versioned by the audit head', () => {
  it('serves a looked-up tenant’s configuration from memory until a provisioning change, then reads it afresh', async () => {
    let now = 1_000_000;
    const dir = new CachedDirectoryRepo(redis, keys, undefined, () => now);
    expect((await dir.tenantByDomain('TC.cache.test'))?.id).toBe('tc');
    expect((await dir.extension('tc', '1001'))?.displayName).toBe('Before');
    // Served from memory: a write that bypasses the provisioning API (no audit entry) is not seen.
    const key = keys.tenant.extension('tc', '1001');
    const raw = JSON.parse((await redis.get(key)) as string) as Record<string, unknown>;
    await redis.set(key, JSON.stringify({ ...raw, displayName: 'Unaudited' }));
    await dir.tenantById('tc');
    expect((await dir.extension('tc', '1001'))?.displayName).toBe('Before');
    expect((await dir.numberingPlan('tc')).outsideLinePrefix).toBeDefined();
    expect(dir.stats()).toEqual({ tenants: 1, entries: 2 });

    // A change through the provisioning API (audited): the next request's tenant lookup sees the new head.
    await repo.replaceExtension('tc', '1001', (cur) => ({ ...cur, displayName: 'After' }), SYSTEM_ACTOR);
    expect((await dir.extension('tc', '1001'))?.displayName).toBe('Before'); // no new lookup yet: this request's view
    await dir.tenantById('tc');
    expect((await dir.extension('tc', '1001'))?.displayName).toBe('After');

    // Long after the last lookup (a transfer minutes into a call) configuration is read from Redis, not the cache.
    await repo.replaceExtension('tc', '1001', (cur) => ({ ...cur, displayName: 'Later' }), SYSTEM_ACTOR);
    now += CONFIG_CACHE_FRESH_MS;
    expect((await dir.extension('tc', '1001'))?.displayName).toBe('Later');
  });

  it('hands out an extension it holds without a round trip while the tenant is fresh (cachedExtension), never reading Redis for it', async () => {
    let now = 2_000_000;
    const dir = new CachedDirectoryRepo(redis, keys, undefined, () => now);
    expect(dir.cachedExtension('tc', '1001')).toBeUndefined();
    await dir.tenantById('tc');
    expect(dir.cachedExtension('tc', '1001')).toBeUndefined(); // not read yet: nothing to hand out
    const read = await dir.extension('tc', '1001');
    expect(await dir.cachedExtension('tc', '1001')).toBe(read);
    expect(dir.stats().entries).toBe(1);
    now += CONFIG_CACHE_FRESH_MS;
    expect(dir.cachedExtension('tc', '1001')).toBeUndefined();
  });

  it('never caches a tenant that does not exist, nor its configuration', async () => {
    const dir = new CachedDirectoryRepo(redis, keys);
    expect(await dir.tenantById('nope')).toBeNull();
    expect(await dir.extension('nope', '1001')).toBeNull();
    expect(dir.stats()).toEqual({ tenants: 0, entries: 0 });
  });

  it('caches a domain’s tenant id, trusting it only while the tenant record names that domain; unknown domains are read each time', async () => {
    const dir = new CachedDirectoryRepo(redis, keys);
    expect(await dir.tenantByDomain('td.cache.test')).toBeNull();
    // Not cached while unknown: a tenant created with the domain is found by the next request.
    await repo.createTenant(ok(validateTenantCreate({ id: 'td', name: 'td', sipDomain: 'td.cache.test', ports: 100, trunkChannels: 1, callsPerSecond: 5 })), SYSTEM_ACTOR);
    expect((await dir.tenantByDomain('td.cache.test'))?.id).toBe('td');
    // Served by the cached id: the index entry is not read again (removed here behind the cache's back).
    await redis.hdel(keys.global.sipDomains(), 'td.cache.test');
    expect((await dir.tenantByDomain('TD.cache.test'))?.status).toBe('active');
    // Status is never cached: the record is read on every lookup.
    await redis.hset(keys.tenant.record('td'), 'status', 'suspended');
    expect((await dir.tenantByDomain('td.cache.test'))?.status).toBe('suspended');
    // A record that no longer names the domain (or is gone) sends the lookup back to the index.
    await redis.hset(keys.tenant.record('td'), 'sipDomain', 'other.cache.test');
    expect(await dir.tenantByDomain('td.cache.test')).toBeNull();
    await redis.hset(keys.global.sipDomains(), 'td.cache.test', 'td');
    await redis.hset(keys.tenant.record('td'), 'sipDomain', 'td.cache.test');
    expect((await dir.tenantByDomain('td.cache.test'))?.id).toBe('td');
    await redis.del(keys.tenant.record('td'));
    await redis.hdel(keys.global.sipDomains(), 'td.cache.test');
    expect(await dir.tenantByDomain('td.cache.test')).toBeNull();
  });

  it('caches the trunk-source lookup per address until the index’s version changes (every write to the index replaces it)', async () => {
    const trunk = (id: string, gateways: TrunkInput['gateways']) => ok(validateTrunk({ id, name: id, gateways, channelLimit: 2 }));
    const dir = new CachedDirectoryRepo(redis, keys);
    await repo.createTrunk('tc', trunk('other', [{ host: '198.51.100.21', port: 5060 }]), SYSTEM_ACTOR);
    expect(await dir.trunksAtSource('198.51.100.20', 5060, 'udp')).toEqual([]);
    // Served from memory: an index entry written behind the version's back is not seen…
    await redis.hset(keys.global.trunkSources(), 'udp|198.51.100.20|5060', JSON.stringify({ tenantId: 'tc', trunkId: 'other' }));
    await redis.sadd(keys.global.trunkSourcesAt('198.51.100.20'), 'udp|198.51.100.20|5060');
    expect(await dir.trunksAtSource('198.51.100.20', 5060, 'udp')).toEqual([]);
    // …until the next write through the provisioning API replaces the version.
    await repo.createTrunk('tc', trunk('carrier', [{ host: '198.51.100.20', port: 5070 }]), SYSTEM_ACTOR);
    expect((await dir.trunksAtSource('198.51.100.20', 5060, 'udp')).map((m) => [m.trunk.id, m.gateway.port, m.exactPort])).toEqual([
      ['other', 5060, true],
      ['carrier', 5070, false],
    ]);
    await repo.deleteTrunk('tc', 'carrier', SYSTEM_ACTOR);
    expect((await dir.trunksAtSource('198.51.100.20', 5070, 'udp')).map((m) => m.trunk.id)).toEqual(['other']);
    // The trunk records themselves are read per request (a changed gateway list is seen at once).
    await repo.replaceTrunk('tc', 'other', (t) => ({ ...t, name: 'renamed' }), SYSTEM_ACTOR);
    expect((await dir.trunksAtSource('198.51.100.21', 5060, 'udp')).map((m) => m.trunk.name)).toEqual(['renamed']);
  });
});
