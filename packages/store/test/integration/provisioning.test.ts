import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { validateExtension, validateTenantCreate, validateTrunk, validateRingGroup, validateDid, type TenantValue } from '@kumo/domain';
import { createRedis, keySchema, DirectoryRepo, ProvisioningRepo, SYSTEM_ACTOR, ha1Of, type RedisClient } from '@kumo/store';
import { uniquePrefix } from '@kumo/testkit';

let redis: RedisClient;
let repo: ProvisioningRepo;
let dir: DirectoryRepo;

function ok<T>(v: { ok: true; value: T } | { ok: false; problems: readonly unknown[] }): T {
  if (!v.ok) throw new Error(JSON.stringify(v.problems));
  return v.value;
}

const tenant = (id: string, ports = 100): TenantValue =>
  ok(validateTenantCreate({ id, name: id, sipDomain: `${id}.kumo.test`, ports, trunkChannels: 10, callsPerSecond: 5 }));

beforeAll(() => {
  redis = createRedis(inject('redisUrl'));
  const keys = keySchema(uniquePrefix('st'));
  repo = new ProvisioningRepo(redis, keys);
  dir = new DirectoryRepo(redis, keys);
});
afterAll(() => redis.disconnect());

describe('provisioning store', () => {
  it('writes and reads back tenants, extensions, groups, trunks and DIDs', async () => {
    await repo.createTenant(tenant('acme'), SYSTEM_ACTOR);
    expect((await dir.tenantByDomain('ACME.kumo.test'))?.id).toBe('acme');
    expect(await dir.tenantById('nope')).toBeNull();

    await repo.createExtension('acme', ok(validateExtension({ number: '1001', displayName: 'A', password: 'pass1001' })), SYSTEM_ACTOR);
    const e = await dir.extension('acme', '1001');
    expect(e?.ha1Md5).toBe(ha1Of('1001', 'acme.kumo.test', 'pass1001').ha1Md5);
    expect(e?.ha1Md5).toMatch(/^[0-9a-f]{32}$/);
    expect(e?.ha1Sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(e)).not.toContain('pass1001');
    expect(await dir.numberKind('acme', '1001')).toBe('extension');
    expect(await dir.numberKind('acme', '*8')).toBe('feature');

    await repo.createRingGroup('acme', ok(validateRingGroup({ number: '500', name: 'g', strategy: 'ring-all', members: [{ extension: '1001' }] })), SYSTEM_ACTOR);
    expect((await dir.ringGroup('acme', '500'))?.members).toEqual([{ extension: '1001', timeoutSec: 20 }]);

    await repo.createTrunk('acme', ok(validateTrunk({ id: 'ntt', name: 'NTT', gateways: [{ host: '192.0.2.7' }], channelLimit: 5 })), SYSTEM_ACTOR);
    expect((await dir.trunkBySourceAddress('::ffff:192.0.2.7'))?.trunk.id).toBe('ntt');
    expect((await dir.trunks('acme')).map((t) => t.id)).toEqual(['ntt']);

    await repo.createDid('acme', ok(validateDid({ number: '0312345678', target: { type: 'ringGroup', number: '500' } })), SYSTEM_ACTOR);
    for (const form of ['+81312345678', '0312345678', '81312345678', '03-1234-5678']) {
      expect((await dir.didLookup(form))?.tenantId).toBe('acme');
    }
    expect(await dir.didLookup('0399999999')).toBeNull();

    const audit = await repo.audit.list('acme');
    expect(audit.items.map((a) => a.action)).toEqual(['did.create', 'trunk.create', 'ringGroup.create', 'extension.create', 'tenant.create']);
    expect(JSON.stringify(audit.items)).not.toMatch(/"ha1(Md5|Sha256)":"[0-9a-f]/);
    expect(JSON.stringify(audit.items)).toContain('"ha1Md5":"[redacted]"');
  });

  it('enforces the port limit atomically under a 50-way race', async () => {
    await repo.createTenant(tenant('race', 100), SYSTEM_ACTOR);
    for (let i = 0; i < 90; i++) {
      await repo.createExtension('race', ok(validateExtension({ number: String(2000 + i), displayName: 'x', password: 'password' })), SYSTEM_ACTOR);
    }
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, (_, i) =>
        repo.createExtension('race', ok(validateExtension({ number: String(3000 + i), displayName: 'x', password: 'password' })), SYSTEM_ACTOR),
      ),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(10);
    const codes = results.flatMap((r) => (r.status === 'rejected' ? [(r.reason as { code: string }).code] : []));
    expect(new Set(codes)).toEqual(new Set(['KUMO_ERR_PORT_LIMIT']));
    expect(await dir.countExtensions('race')).toBe(100);
    await expect(repo.updateTenant('race', { ports: 99 }, SYSTEM_ACTOR)).rejects.toMatchObject({ code: 'KUMO_ERR_PORTS_BELOW_PROVISIONED' });
    const page1 = await dir.listExtensions('race', { limit: 60 });
    const page2 = await dir.listExtensions('race', { limit: 60, after: page1.next ?? '' });
    expect(page1.items).toHaveLength(60);
    expect(page2.items).toHaveLength(40);
    expect(page2.next).toBeNull();
  });

  it('purges a terminated tenant completely', async () => {
    await repo.createTenant(tenant('gone'), SYSTEM_ACTOR);
    await repo.createExtension('gone', ok(validateExtension({ number: '1001', displayName: 'A', password: 'pass1001' })), SYSTEM_ACTOR);
    await repo.createTrunk('gone', ok(validateTrunk({ id: 't', name: 'T', gateways: [{ host: '192.0.2.99' }], channelLimit: 5 })), SYSTEM_ACTOR);
    await repo.createDid('gone', ok(validateDid({ number: '0311112222', target: { type: 'extension', number: '1001' } })), SYSTEM_ACTOR);
    await expect(repo.purgeTenant('gone', SYSTEM_ACTOR)).rejects.toMatchObject({ code: 'KUMO_ERR_TENANT_NOT_TERMINATED' });
    await repo.setTenantStatus('gone', 'terminated', SYSTEM_ACTOR);
    await expect(repo.setTenantStatus('gone', 'active', SYSTEM_ACTOR)).rejects.toMatchObject({ code: 'KUMO_ERR_TENANT_TERMINATED' });
    const { deletedKeys } = await repo.purgeTenant('gone', SYSTEM_ACTOR);
    expect(deletedKeys).toBeGreaterThan(5);
    expect(await dir.tenantById('gone')).toBeNull();
    expect(await dir.tenantByDomain('gone.kumo.test')).toBeNull();
    expect(await dir.didLookup('0311112222')).toBeNull();
    expect(await dir.trunkBySourceAddress('192.0.2.99')).toBeNull();
    expect(await dir.extension('gone', '1001')).toBeNull();
    // Every key under the tenant's hash tag is gone (scanned on every Cluster master).
    expect(await repo.lifecycle.tenantKeys('gone')).toEqual([]);
  });
});
