import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { validateTenantCreate, validateTrunk, type TrunkInput } from '@kumo/domain';
import { createRedis, keySchema, DirectoryRepo, ProvisioningRepo, SYSTEM_ACTOR, type RedisClient } from '@kumo/store';
import { uniquePrefix } from '@kumo/testkit';

let redis: RedisClient;
let repo: ProvisioningRepo;
let dir: DirectoryRepo;

function ok<T>(v: { ok: true; value: T } | { ok: false; problems: readonly unknown[] }): T {
  if (!v.ok) throw new Error(JSON.stringify(v.problems));
  return v.value;
}
const trunk = (id: string, gateways: TrunkInput['gateways']) => ok(validateTrunk({ id, name: id, gateways, channelLimit: 2 }));

beforeAll(async () => {
  redis = createRedis(inject('redisUrl'));
  const keys = keySchema(uniquePrefix('gw'));
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
    await repo.replaceTrunk('ta', trunk('second', [{ host: '198.51.100.7', port: 5090 }]), SYSTEM_ACTOR);
    expect((await dir.trunksAtSource('198.51.100.7', 5080, 'udp')).map((m) => m.trunk.id)).toEqual(['main', 'second']);
    await repo.createTrunk('tb', trunk('took-5080', [{ host: '198.51.100.7', port: 5080 }]), SYSTEM_ACTOR);
    await repo.deleteTrunk('ta', 'main', SYSTEM_ACTOR);
    expect((await dir.trunksAtSource('198.51.100.7', 5060, 'udp')).map((m) => m.trunk.id)).toEqual(['took-5080', 'second']);
  });
});
