import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { harness, type Harness } from './helpers.js';

let h: Harness;
beforeAll(async () => {
  h = await harness();
});
afterAll(() => h.close());

const ext = (number: string) => ({ number, displayName: `x${number}`, password: `pass${number}` });

describe('tenant contract', () => {
  it.each([
    [{ ports: 99 }, 'ports'],
    [{ ports: 20001 }, 'ports'],
    [{ ports: 100.5 }, 'ports'],
    [{ ports: '100' }, 'ports'],
    [{ trunkChannels: -1 }, 'trunkChannels'],
    [{ callsPerSecond: 0 }, 'callsPerSecond'],
    [{ restrictionLevel: 4 }, 'restrictionLevel'],
    [{ status: 'terminated' }, 'status'],
    [{ sipDomain: 'not a domain' }, 'sipDomain'],
    [{ id: 'UPPER' }, 'id'],
  ])('out of range %o → 400 naming %s', async (patch, field) => {
    const r = await h.call('POST', '/v1/tenants', {
      body: { id: 'rng', name: 'r', sipDomain: 'rng.kumo.test', ports: 100, trunkChannels: 1, callsPerSecond: 1, ...patch },
    });
    expect(r.statusCode).toBe(400);
    expect(r.json().code).toBe('KUMO_ERR_VALIDATION');
    expect(JSON.stringify(r.json().details)).toContain(field);
  });

  it('tenant ids and SIP domains are unique', async () => {
    await h.tenant('uniq');
    const dupId = await h.call('POST', '/v1/tenants', { body: { id: 'uniq', name: 'u', sipDomain: 'other.kumo.test', ports: 100, trunkChannels: 1, callsPerSecond: 1 } });
    expect([dupId.statusCode, dupId.json().code]).toEqual([409, 'KUMO_ERR_EXISTS']);
    const dupDomain = await h.call('POST', '/v1/tenants', { body: { id: 'uniq2', name: 'u', sipDomain: 'UNIQ.kumo.test', ports: 100, trunkChannels: 1, callsPerSecond: 1 } });
    expect([dupDomain.statusCode, dupDomain.json().code]).toEqual([409, 'KUMO_ERR_DOMAIN_TAKEN']);
    // the failed create did not steal other.kumo.test
    await h.tenant('other');
  });

  it('50 concurrent creates at the port limit: exactly `ports` succeed, the rest 409 KUMO_ERR_PORT_LIMIT', async () => {
    const key = await h.tenant('race');
    for (let i = 0; i < 80; i++) {
      const r = await h.call('POST', '/v1/tenants/race/extensions', { key, body: ext(String(2000 + i)) });
      expect(r.statusCode).toBe(201);
    }
    const rs = await Promise.all(Array.from({ length: 50 }, (_, i) => h.call('POST', '/v1/tenants/race/extensions', { key, body: ext(String(3000 + i)) })));
    const byStatus = new Map<number, number>();
    for (const r of rs) byStatus.set(r.statusCode, (byStatus.get(r.statusCode) ?? 0) + 1);
    expect(Object.fromEntries(byStatus)).toEqual({ 201: 20, 409: 30 });
    for (const r of rs.filter((x) => x.statusCode === 409)) expect(r.json().code).toBe('KUMO_ERR_PORT_LIMIT');
    const all = await h.call('GET', '/v1/tenants/race/extensions?limit=1000', { key });
    expect(all.json().items).toHaveLength(100);

    const lower = await h.call('PATCH', '/v1/tenants/race', { body: { ports: 100 - 1 } });
    expect(lower.statusCode).toBe(400); // below the 100 minimum: validation first
    await h.call('PATCH', '/v1/tenants/race', { body: { ports: 150 } });
    await h.call('POST', '/v1/tenants/race/extensions', { key, body: ext('4000') });
    const below = await h.call('PATCH', '/v1/tenants/race', { body: { ports: 100 } });
    expect([below.statusCode, below.json().code]).toEqual([409, 'KUMO_ERR_PORTS_BELOW_PROVISIONED']);
    expect((await h.call('DELETE', '/v1/tenants/race/extensions/4000', { key })).statusCode).toBe(204);
    expect((await h.call('PATCH', '/v1/tenants/race', { body: { ports: 100 } })).json().ports).toBe(100);
    const m = await h.call('GET', '/metrics', { key: null });
    expect(m.body).toMatch(/kumo_api_contract_rejections_total\{code="KUMO_ERR_PORT_LIMIT"[^}]*\} 30/);
  });
});

describe('number space collisions (409)', () => {
  let key: string;
  beforeAll(async () => {
    key = await h.tenant('nums');
    await h.call('POST', '/v1/tenants/nums/extensions', { key, body: ext('1001') });
    await h.call('POST', '/v1/tenants/nums/extensions', { key, body: ext('1002') });
  });

  it.each([
    ['extension = extension', '/extensions', ext('1001'), 'KUMO_ERR_NUMBER_TAKEN'],
    ['group = extension', '/ring-groups', { number: '1001', name: 'g', strategy: 'ring-all', members: [{ extension: '1002' }] }, 'KUMO_ERR_NUMBER_TAKEN'],
    ['group 110', '/ring-groups', { number: '110', name: 'g', strategy: 'ring-all', members: [{ extension: '1002' }] }, 'KUMO_ERR_NUMBER_RESERVED'],
    ['group 118', '/ring-groups', { number: '118', name: 'g', strategy: 'ring-all', members: [{ extension: '1002' }] }, 'KUMO_ERR_NUMBER_RESERVED'],
    ['group 119', '/ring-groups', { number: '119', name: 'g', strategy: 'ring-all', members: [{ extension: '1002' }] }, 'KUMO_ERR_NUMBER_RESERVED'],
    ['extension with outside prefix', '/extensions', ext('0123'), 'KUMO_ERR_NUMBER_RESERVED'],
  ])('%s', async (_n, path, body, code) => {
    const r = await h.call('POST', `/v1/tenants/nums${path}`, { key, body });
    expect([r.statusCode, r.json().code]).toEqual([409, code]);
  });

  it('extension = group', async () => {
    expect((await h.call('POST', '/v1/tenants/nums/ring-groups', { key, body: { number: '2000', name: 'g', strategy: 'sequential', members: [{ extension: '1001' }] } })).statusCode).toBe(201);
    const r = await h.call('POST', '/v1/tenants/nums/extensions', { key, body: ext('2000') });
    expect([r.statusCode, r.json().code]).toEqual([409, 'KUMO_ERR_NUMBER_TAKEN']);
  });

  it('feature codes: a digit code cannot take a used number, and numbers cannot take a code', async () => {
    const taken = await h.call('PUT', '/v1/tenants/nums/numbering-plan', { key, body: { featureCodes: { pickup: '1001' } } });
    expect([taken.statusCode, taken.json().code]).toEqual([409, 'KUMO_ERR_NUMBER_TAKEN']);
    const ok = await h.call('PUT', '/v1/tenants/nums/numbering-plan', { key, body: { featureCodes: { pickup: '7000' } } });
    expect(ok.json().featureCodes).toEqual({ pickup: '7000', directedPickup: '**' });
    const r = await h.call('POST', '/v1/tenants/nums/extensions', { key, body: ext('7000') });
    expect([r.statusCode, r.json().code]).toEqual([409, 'KUMO_ERR_NUMBER_RESERVED']);
    const len = await h.call('PUT', '/v1/tenants/nums/numbering-plan', { key, body: { extensionLength: 3 } });
    expect([len.statusCode, len.json().code]).toEqual([409, 'KUMO_ERR_PLAN_CONFLICT']);
    const prefix = await h.call('PUT', '/v1/tenants/nums/numbering-plan', { key, body: { outsideLinePrefix: '1' } });
    expect([prefix.statusCode, prefix.json().code]).toEqual([409, 'KUMO_ERR_PLAN_CONFLICT']);
    const emergency = await h.call('PUT', '/v1/tenants/nums/numbering-plan', { key, body: { featureCodes: { pickup: '119' } } });
    expect([emergency.statusCode, emergency.json().code]).toEqual([400, 'KUMO_ERR_VALIDATION']);
  });

  it('references must exist (400 KUMO_ERR_UNKNOWN_REFERENCE)', async () => {
    const rg = await h.call('POST', '/v1/tenants/nums/ring-groups', { key, body: { number: '501', name: 'g', strategy: 'ring-all', members: [{ extension: '1999' }] } });
    expect([rg.statusCode, rg.json().code]).toEqual([400, 'KUMO_ERR_UNKNOWN_REFERENCE']);
    const did = await h.call('POST', '/v1/tenants/nums/dids', { key, body: { number: '0366660000', target: { type: 'ringGroup', number: '1001' } } });
    expect([did.statusCode, did.json().code]).toEqual([400, 'KUMO_ERR_UNKNOWN_REFERENCE']);
    // the failed DID did not keep the global claim
    const other = await h.tenant('nums2');
    await h.call('POST', '/v1/tenants/nums2/extensions', { key: other, body: ext('1001') });
    expect((await h.call('POST', '/v1/tenants/nums2/dids', { key: other, body: { number: '+81366660000', target: { type: 'extension', number: '1001' } } })).statusCode).toBe(201);
    const stolen = await h.call('POST', '/v1/tenants/nums/dids', { key, body: { number: '03-6666-0000', target: { type: 'extension', number: '1001' } } });
    // A tenant admin is not told that another tenant has it (docs/security.md); an operator is.
    expect([stolen.statusCode, stolen.json().code]).toEqual([403, 'KUMO_ERR_NOT_ASSIGNED']);
    expect(stolen.body).not.toContain('another tenant');
    const opStolen = await h.call('POST', '/v1/tenants/nums/dids', { body: { number: '03-6666-0000', target: { type: 'extension', number: '1001' } } });
    expect([opStolen.statusCode, opStolen.json().code]).toEqual([409, 'KUMO_ERR_DID_TAKEN']);
  });

  it('trunks: channel limit within the contract, gateway IPs unique platform-wide', async () => {
    const over = await h.call('POST', '/v1/tenants/nums/trunks', { key, body: { id: 'a', name: 'a', gateways: [{ host: '198.51.100.1' }], channelLimit: 11 } });
    expect([over.statusCode, over.json().code]).toEqual([409, 'KUMO_ERR_CONTRACT_LIMIT']);
    expect((await h.call('POST', '/v1/tenants/nums/trunks', { key, body: { id: 'a', name: 'a', gateways: [{ host: '198.51.100.1' }], channelLimit: 10 } })).statusCode).toBe(201);
    const other = await h.tenant('nums3');
    const dup = await h.call('POST', '/v1/tenants/nums3/trunks', { key: other, body: { id: 'b', name: 'b', gateways: [{ host: '198.51.100.1' }], channelLimit: 1 } });
    expect([dup.statusCode, dup.json().code]).toEqual([403, 'KUMO_ERR_NOT_ASSIGNED']);
    expect(dup.body).not.toContain('another');
    const dupId = await h.call('POST', '/v1/tenants/nums/trunks', { key, body: { id: 'a', name: 'a', gateways: [{ host: '198.51.100.2' }], channelLimit: 1 } });
    expect([dupId.statusCode, dupId.json().code]).toEqual([409, 'KUMO_ERR_EXISTS']);
    // the failed create released 198.51.100.2
    expect((await h.call('POST', '/v1/tenants/nums3/trunks', { key: other, body: { id: 'b', name: 'b', gateways: [{ host: '198.51.100.2' }], channelLimit: 1 } })).statusCode).toBe(201);
  });
});
