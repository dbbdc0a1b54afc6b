/**
 * Issue 18: the provisioning API behaves the same way everywhere. One test per numbered
 * item of the issue (1–5), each failing on the API before the change.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { harness, type Harness } from './helpers.js';

let h: Harness;
let key: string;

beforeAll(async () => {
  h = await harness({ ownSipAddresses: [{ host: '0.0.0.0', port: 5060 }, { host: 'sip.kumo.example', port: 5060 }] });
  key = await h.tenant('cons');
  // Numbers and gateways are assigned by the operator (docs/security.md); the lab carrier on loopback needs allowSpecial.
  const g = await h.call('PUT', '/v1/tenants/cons/grants', { body: { blocks: [{ first: '0355500000', count: 10000 }], gateways: ['192.0.2.181', '127.0.0.2'], allowSpecial: true } });
  if (g.statusCode !== 200) throw new Error(g.body);
  for (const n of ['1001', '1002', '1003', '1004', '1005', '1006', '1007', '1008']) {
    const r = await h.call('POST', t('/extensions'), { key, body: { number: n, displayName: `User ${n}`, password: `pass${n}x` } });
    if (r.statusCode !== 201) throw new Error(r.body);
  }
});
afterAll(() => h.close());

const t = (path: string) => `/v1/tenants/cons${path}`;
const call = (method: string, path: string, body?: unknown, headers?: Record<string, string>) =>
  h.call(method, t(path), { key, ...(body !== undefined ? { body } : {}), ...(headers ? { headers } : {}) });

describe('1. a forwarding update merges by kind', () => {
  it('PATCH forwarding.busy keeps noAnswer; null clears one kind; forwarding null clears all', async () => {
    expect((await call('PATCH', '/extensions/1007', { forwarding: { noAnswer: '1002' } })).statusCode).toBe(200);
    const r = await call('PATCH', '/extensions/1007', { forwarding: { busy: '1003' } });
    expect(r.json().forwarding).toEqual({ noAnswer: '1002', busy: '1003' });
    expect((await call('PATCH', '/extensions/1007', { forwarding: { noAnswer: null } })).json().forwarding).toEqual({ busy: '1003' });
    const typed = await call('PATCH', '/extensions/1007', { forwarding: null }, { 'content-type': 'application/merge-patch+json' });
    expect(typed.json().forwarding).toEqual({});
    expect((await call('PATCH', '/extensions/1007', { forwarding: { busy: 12 } })).json().code).toBe('KUMO_ERR_VALIDATION');
  });
});

describe('2. references are validated on write; deletes follow one policy', () => {
  it.each([
    ['forwarding to a nonexistent number', 'PATCH', '/extensions/1001', { forwarding: { busy: '9999' } }, 400, 'KUMO_ERR_UNKNOWN_REFERENCE'],
    ['forwarding to itself', 'PATCH', '/extensions/1001', { forwarding: { noAnswer: '1001' } }, 400, 'KUMO_ERR_VALIDATION'],
    ['a ring group overflow to a nonexistent number', 'POST', '/ring-groups', { number: '600', name: 'x', strategy: 'ring-all', members: [{ extension: '1001' }], overflow: '9999' }, 400, 'KUMO_ERR_UNKNOWN_REFERENCE'],
    ['a group member that does not exist', 'POST', '/ring-groups', { number: '600', name: 'x', strategy: 'ring-all', members: [{ extension: '9999' }] }, 400, 'KUMO_ERR_UNKNOWN_REFERENCE'],
  ])('%s → %i %s', async (_n, method, path, body, status, code) => {
    const r = await call(method, path, body);
    expect([r.statusCode, r.json().code]).toEqual([status, code]);
  });

  it('names the field and what the reference must be', async () => {
    const r = await call('PATCH', '/extensions/1001', { forwarding: { busy: '9999' } });
    expect(r.json().details).toEqual({ field: 'forwarding/busy', number: '9999', expected: 'extension or ring group' });
    expect(r.json().message).toBe('forwarding/busy: 9999 is not an extension or ring group of this tenant');
  });

  it('refuses unconditional forwarding loops and chains longer than routing follows', async () => {
    expect((await call('PATCH', '/extensions/1004', { forwarding: { unconditional: '1005' } })).statusCode).toBe(200);
    const loop = await call('PATCH', '/extensions/1005', { forwarding: { unconditional: '1004' } });
    expect(loop.statusCode).toBe(400);
    expect(loop.json()).toMatchObject({ code: 'KUMO_ERR_FORWARDING_LOOP', details: { field: 'forwarding/unconditional', chain: ['1005', '1004', '1005'], maxDepth: 5 } });
    // Busy ping-pong is fine: each phone rings first and routing stops at the repeat.
    expect((await call('PATCH', '/extensions/1005', { forwarding: { busy: '1004' } })).statusCode).toBe(200);
    // 1001 → 1002 → … → 1006 is 5 hops (allowed); one more is refused.
    for (const [a, b] of [['1002', '1003'], ['1003', '1004']]) expect((await call('PATCH', `/extensions/${a}`, { forwarding: { noAnswer: b } })).statusCode).toBe(200);
    expect((await call('PATCH', '/extensions/1004', { forwarding: { unconditional: null, noAnswer: '1005' } })).statusCode).toBe(200);
    expect((await call('PATCH', '/extensions/1005', { forwarding: { busy: null, noAnswer: '1006' } })).statusCode).toBe(200);
    expect((await call('PATCH', '/extensions/1001', { forwarding: { noAnswer: '1002' } })).statusCode).toBe(200);
    const deep = await call('PATCH', '/extensions/1006', { forwarding: { noAnswer: '1008' } });
    expect(deep.json()).toMatchObject({ code: 'KUMO_ERR_FORWARDING_LOOP' });
    for (const n of ['1001', '1002', '1003', '1004', '1005']) expect((await call('PATCH', `/extensions/${n}`, { forwarding: null })).statusCode).toBe(200);
  });

  it('deleting an extension: leaves groups (cascade), refused while forwarding / a DID / a last membership points to it', async () => {
    expect((await call('POST', '/ring-groups', { number: '610', name: 'Two', strategy: 'sequential', members: [{ extension: '1006' }, { extension: '1008' }] })).statusCode).toBe(201);
    expect((await call('POST', '/ring-groups', { number: '611', name: 'Solo', strategy: 'ring-all', members: [{ extension: '1008' }] })).statusCode).toBe(201);
    expect((await call('POST', '/pickup-groups', { id: 'desk', name: 'Desk', members: ['1006', '1008'] })).statusCode).toBe(201);
    expect((await call('POST', '/dids', { number: '0355501008', target: { type: 'extension', number: '1008' } })).statusCode).toBe(201);
    expect((await call('PATCH', '/extensions/1003', { forwarding: { busy: '1008' } })).statusCode).toBe(200);

    const refused = await call('DELETE', '/extensions/1008');
    expect(refused.statusCode).toBe(409);
    expect(refused.json()).toMatchObject({ code: 'KUMO_ERR_IN_USE', details: { resource: 'extension', id: '1008' } });
    expect(refused.json().details.referrers).toEqual(
      expect.arrayContaining([
        { resource: 'did', id: '+81355501008', field: 'target' },
        { resource: 'extension', id: '1003', field: 'forwarding/busy' },
        { resource: 'ringGroup', id: '611', field: 'members' },
      ]),
    );
    expect(refused.json().details.referrers).toHaveLength(3);
    // Nothing changed by the refusal.
    expect((await call('GET', '/pickup-groups/desk')).json().members).toEqual(['1006', '1008']);

    expect((await call('DELETE', '/dids/0355501008')).statusCode).toBe(204);
    expect((await call('PATCH', '/extensions/1003', { forwarding: null })).statusCode).toBe(200);
    expect((await call('DELETE', '/ring-groups/611')).statusCode).toBe(204);
    expect((await call('DELETE', '/extensions/1008')).statusCode).toBe(204);
    expect((await call('GET', '/ring-groups/610')).json().members).toEqual([{ extension: '1006', timeoutSec: 20 }]);
    expect((await call('GET', '/pickup-groups/desk')).json().members).toEqual(['1006']);
    // A ring group that a DID points to cannot go either.
    expect((await call('POST', '/dids', { number: '0355500610', target: { type: 'ringGroup', number: '610' } })).statusCode).toBe(201);
    expect((await call('DELETE', '/ring-groups/610')).json()).toMatchObject({ code: 'KUMO_ERR_IN_USE', details: { referrers: [{ resource: 'did', id: '+81355500610', field: 'target' }] } });
    expect((await call('DELETE', '/dids/0355500610')).statusCode).toBe(204);
    expect((await call('DELETE', '/ring-groups/610')).statusCode).toBe(204);
  });
});

describe('3. every resource has the same update verbs', () => {
  it('ring groups: PATCH merges, PUT replaces (partial PUT is a 400)', async () => {
    expect((await call('POST', '/ring-groups', { number: '620', name: 'Sales', strategy: 'sequential', members: [{ extension: '1001' }], totalTimeoutSec: 90 })).statusCode).toBe(201);
    const p = await call('PATCH', '/ring-groups/620', { name: 'Sales 2' });
    expect(p.statusCode).toBe(200);
    expect(p.json()).toMatchObject({ name: 'Sales 2', strategy: 'sequential', totalTimeoutSec: 90 });
    expect((await call('PUT', '/ring-groups/620', { name: 'Sales 3' })).json().code).toBe('KUMO_ERR_VALIDATION');
    expect((await call('PUT', '/ring-groups/620', { name: 'S', strategy: 'ring-all', members: [{ extension: '1002' }] })).json()).toMatchObject({ totalTimeoutSec: 60 });
  });

  it('DIDs: PATCH keeps the description, PUT replaces it; extensions have PUT', async () => {
    expect((await call('POST', '/dids', { number: '0355509999', target: { type: 'extension', number: '1001' }, description: '代表' })).statusCode).toBe(201);
    const p = await call('PATCH', '/dids/0355509999', { target: { number: '1002' } });
    expect(p.json()).toMatchObject({ target: { type: 'extension', number: '1002' }, description: '代表' });
    expect((await call('PUT', '/dids/0355509999', { target: { type: 'extension', number: '1001' } })).json().description).toBe('');
    const put = await call('PUT', '/extensions/1006', { displayName: 'Six', department: '総務' });
    expect(put.json()).toMatchObject({ displayName: 'Six', department: '総務', permissionClass: 'national', forwarding: {} });
    expect((await call('PATCH', '/pickup-groups/desk', { name: 'Front desk' })).json()).toMatchObject({ name: 'Front desk', members: ['1006'] });
    expect((await call('PATCH', '/numbering-plan', { featureCodes: { pickup: '*9' } })).json().featureCodes).toEqual({ pickup: '*9', directedPickup: '**' });
    expect((await call('PUT', '/numbering-plan', {})).json().featureCodes).toEqual({ pickup: '*8', directedPickup: '**' });
  });
});

describe('4. errors read the same for the same thing', () => {
  it.each(['110', '119'])('%s as an extension is 409 NUMBER_RESERVED like for ring groups', async (n) => {
    const e = await call('POST', '/extensions', { number: n, displayName: 'x', password: 'password1' });
    expect([e.statusCode, e.json().code, e.json().details]).toEqual([409, 'KUMO_ERR_NUMBER_RESERVED', { number: n, reason: 'emergency' }]);
    const g = await call('POST', '/ring-groups', { number: n, name: 'x', strategy: 'ring-all', members: [{ extension: '1001' }] });
    expect([g.statusCode, g.json().code]).toEqual([409, 'KUMO_ERR_NUMBER_RESERVED']);
  });

  it('a taken number names what takes it, with "an extension"', async () => {
    const r = await call('POST', '/ring-groups', { number: '1001', name: 'x', strategy: 'ring-all', members: [{ extension: '1002' }] });
    expect(r.json()).toEqual({ code: 'KUMO_ERR_NUMBER_TAKEN', message: 'number 1001 is already used by an extension', details: { number: '1001', usedBy: 'extension' } });
  });

  it('not found is the same for GET, PATCH and DELETE', async () => {
    const bodies = await Promise.all([call('GET', '/extensions/1099'), call('PATCH', '/extensions/1099', { department: 'x' }), call('DELETE', '/extensions/1099')]);
    for (const b of bodies) {
      expect(b.statusCode).toBe(404);
      expect(b.json()).toEqual({ code: 'KUMO_ERR_NOT_FOUND', message: 'extension 1099 not found', details: { resource: 'extension', id: '1099' } });
    }
  });

  it('a duplicate says what exists; contract limits have named details', async () => {
    const dup = await call('POST', '/pickup-groups', { id: 'desk', name: 'again', members: [] });
    expect(dup.json()).toEqual({ code: 'KUMO_ERR_EXISTS', message: 'pickup group desk already exists', details: { resource: 'pickupGroup', id: 'desk' } });
    expect((await call('POST', '/dids', { number: '0355501234', target: { type: 'extension', number: '1001' } })).statusCode).toBe(201);
    const did = await call('POST', '/dids', { number: '+81355501234', target: { type: 'extension', number: '1001' } });
    expect(did.json()).toEqual({ code: 'KUMO_ERR_EXISTS', message: 'DID +81355501234 already exists', details: { resource: 'did', id: '+81355501234' } });
    const lim = await call('POST', '/trunks', { id: 'big', name: 'Big', channelLimit: 11, gateways: [{ host: '192.0.2.181' }] });
    expect(lim.json()).toEqual({ code: 'KUMO_ERR_CONTRACT_LIMIT', message: "11 exceeds the contract's trunkChannels (10)", details: { field: 'trunkChannels', limit: 10, value: 11 } });
  });

  it('Accept-Language: ja gives the Japanese message, same code and details', async () => {
    const r = await call('GET', '/extensions/1099', undefined, { 'accept-language': 'ja-JP,ja;q=0.9,en;q=0.8' });
    expect(r.headers['content-language']).toBe('ja');
    expect(r.json()).toEqual({ code: 'KUMO_ERR_NOT_FOUND', message: '内線 1099 が見つかりません', details: { resource: 'extension', id: '1099' } });
    const v = await call('POST', '/extensions', { number: '12', displayName: 'x', password: 'password1' }, { 'accept-language': 'ja' });
    expect(v.json().message).toBe('入力内容に誤りがあります（項目: number）');
    expect((await call('GET', '/extensions/1099', undefined, { 'accept-language': 'en-US,ja;q=0.5' })).json().message).toBe('extension 1099 not found');
  });
});

describe('5. values that cannot make sense are refused', () => {
  it('trunkChannels above ports, on create and on PATCH', async () => {
    const c = await h.call('POST', '/v1/tenants', { body: { id: 'cons-big', name: 'x', sipDomain: 'cons-big.kumo.test', ports: 100, trunkChannels: 20000, callsPerSecond: 5 } });
    expect([c.statusCode, c.json().details.problems]).toEqual([400, [{ field: 'trunkChannels', message: 'must not exceed ports (100)' }]]);
    const p = await h.call('PATCH', t(''), { body: { trunkChannels: 101 } });
    expect([p.statusCode, p.json().code]).toEqual([400, 'KUMO_ERR_VALIDATION']);
    expect((await h.call('PATCH', t(''), { body: { ports: 200, trunkChannels: 150 } })).statusCode).toBe(200);
  });

  it.each([
    ['localhost', 5070],
    ['LOCALHOST', 5070],
    [' 1001', 5060],
    ['1001', 5060],
    ['0.0.0.0', 5070],
    ['127.0.0.1', 5060],
    ['sip.kumo.example', 5060],
  ])('gateway host %j port %i → 400', async (host, port) => {
    const r = await call('POST', '/trunks', { id: 'bad', name: 'Bad', channelLimit: 1, gateways: [{ host, port }] });
    expect([r.statusCode, r.json().details.problems?.[0]?.field]).toEqual([400, 'gateways/0/host']);
  });

  it('a lab carrier on another loopback port is fine (once the operator allows the address)', async () => {
    expect((await call('POST', '/trunks', { id: 'lab', name: 'Lab', channelLimit: 1, gateways: [{ host: '127.0.0.2', port: 5090 }] })).statusCode).toBe(201);
  });
});

describe('references written before the index existed', () => {
  it('are rebuilt once (ensureReferences), after which the delete policy holds for them', async () => {
    const { ProvisioningRepo, keySchema } = await import('@kumo/store');
    const repo = new ProvisioningRepo(h.redis, keySchema(h.prefix));
    expect((await call('POST', '/dids', { number: '0355507777', target: { type: 'extension', number: '1007' } })).statusCode).toBe(201);
    // As if written by an older version: no index at all.
    await h.redis.del(keySchema(h.prefix).tenant.refs('cons'));
    expect(await repo.ensureReferences()).toContain('cons');
    expect(await repo.ensureReferences()).not.toContain('cons');
    expect((await call('DELETE', '/extensions/1007')).json()).toMatchObject({ code: 'KUMO_ERR_IN_USE', details: { referrers: [{ resource: 'did', id: '+81355507777', field: 'target' }] } });
    expect((await call('DELETE', '/dids/0355507777')).statusCode).toBe(204);
  });
});
