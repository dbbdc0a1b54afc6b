import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { validateTenantCreate, validateTrunk, type TrunkInput } from '@kumo/domain';
import { randomBytes } from 'node:crypto';
import { createRedis, keySchema, secretBox, DirectoryRepo, ProvisioningRepo, SYSTEM_ACTOR, type KeySchema, type RedisClient } from '@kumo/store';
import { uniquePrefix } from '@kumo/testkit';

let redis: RedisClient;
let repo: ProvisioningRepo;
let dir: DirectoryRepo;
let keys: KeySchema;

function ok<T>(v: { ok: true; value: T } | { ok: false; problems: readonly unknown[] }): T {
  if (!v.ok) throw new Error(JSON.stringify(v.problems));
  return v.value;
}
const trunk = (id: string, gateways: TrunkInput['gateways']) => ok(validateTrunk({ id, name: id, gateways, channelLimit: 2 }));

beforeAll(async () => {
  redis = createRedis(inject('redisUrl'));
  keys = keySchema(uniquePrefix('gw'));
  repo = new ProvisioningRepo(redis, keys);
  dir = new DirectoryRepo(redis, keys);
  for (const id of ['ta', 'tb']) {
    await repo.createTenant(ok(validateTenantCreate({ id, name: id, sipDomain: `${id}.gw.test`, ports: 100, trunkChannels: 10, callsPerSecond: 5 })), SYSTEM_ACTOR);
  }
});
afterAll(() => redis.disconnect());

describe('trunk gateway identity: address + port + transport', () => {
  it('two trunks may share a carrier IP on other ports or transports; the same gateway twice is refused', async () => {
    await repo.createTrunk('ta', trunk('main', [{ host: '198.51.100.7', port: 5060 }]), SYSTEM_ACTOR);
    await repo.createTrunk('ta', trunk('second', [{ host: '198.51.100.7', port: 5080 }]), SYSTEM_ACTOR);
    await repo.createTrunk('tb', trunk('tcp', [{ host: '198.51.100.7', port: 5060, transport: 'tcp' }]), SYSTEM_ACTOR);
    await expect(repo.createTrunk('tb', trunk('dup', [{ host: '198.51.100.7', port: 5080 }]), SYSTEM_ACTOR)).rejects.toMatchObject({ code: 'KUMO_ERR_GATEWAY_TAKEN' });
  });

  it('a request is matched by transport, then port: the exact gateway first, the others at that address as candidates', async () => {
    const udp5080 = await dir.trunksAtSource('198.51.100.7', 5080, 'UDP');
    expect(udp5080.map((m) => [m.trunk.id, m.exactPort])).toEqual([
      ['second', true],
      ['main', false],
    ]);
    const tcp = await dir.trunksAtSource('198.51.100.7', 40123, 'tcp');
    expect(tcp.map((m) => [m.tenantId, m.trunk.id, m.exactPort])).toEqual([['tb', 'tcp', false]]);
    expect(await dir.trunksAtSource('198.51.100.8', 5060, 'udp')).toEqual([]);
  });

  it('changing or deleting a trunk releases exactly its gateways', async () => {
    await repo.replaceTrunk('ta', 'second', () => trunk('second', [{ host: '198.51.100.7', port: 5090 }]), SYSTEM_ACTOR);
    expect((await dir.trunksAtSource('198.51.100.7', 5080, 'udp')).map((m) => m.trunk.id)).toEqual(['main', 'second']);
    await repo.createTrunk('tb', trunk('took-5080', [{ host: '198.51.100.7', port: 5080 }]), SYSTEM_ACTOR);
    await repo.deleteTrunk('ta', 'main', SYSTEM_ACTOR);
    expect((await dir.trunksAtSource('198.51.100.7', 5060, 'udp')).map((m) => m.trunk.id)).toEqual(['took-5080', 'second']);
  });
});

describe('trunk registration passwords sealed at rest (KUMO_SECRET_KEY)', () => {
  it('stored as enc:v1:… (AES-256-GCM), opened for the sip process, unusable without the key', async () => {
    const key = randomBytes(32);
    const sealed = new ProvisioningRepo(redis, keys).useSecrets(secretBox(key));
    const v = ok(validateTrunk({ id: 'reg', name: 'reg', gateways: [{ host: '198.51.100.30' }], channelLimit: 1, registration: { username: 'u1', password: 'carrier-pw' } }));
    expect((await sealed.createTrunk('ta', v, SYSTEM_ACTOR)).registration?.password).toBe('carrier-pw');
    const raw = (await redis.get(keys.tenant.trunk('ta', 'reg'))) ?? '';
    expect(raw).not.toContain('carrier-pw');
    expect(raw).toMatch(/"password":"enc:v1:/);
    expect((await new DirectoryRepo(redis, keys).useSecrets(secretBox(key)).trunk('ta', 'reg'))?.registration?.password).toBe('carrier-pw');
    expect((await new DirectoryRepo(redis, keys).trunk('ta', 'reg'))?.registration?.password).toMatch(/^enc:v1:/);
    await expect(new DirectoryRepo(redis, keys).useSecrets(secretBox(randomBytes(32))).trunk('ta', 'reg')).rejects.toMatchObject({ code: 'KUMO_ERR_SECRET' });
    // A replace that keeps the password (the api's PUT without one) reads it opened and seals it again.
    await sealed.replaceTrunk(
      'ta',
      'reg',
      (cur) => ok(validateTrunk({ ...v, name: 'renamed', registration: { username: 'u1', password: cur.registration?.password ?? '' } })),
      SYSTEM_ACTOR,
    );
    expect((await sealed.trunk('ta', 'reg'))?.registration?.password).toBe('carrier-pw');
    expect(await redis.get(keys.tenant.trunk('ta', 'reg'))).not.toContain('carrier-pw');
  });
});
