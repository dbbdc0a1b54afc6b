import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { harness, type Harness } from './helpers.js';

let h: Harness;
let keyA: string;
let keyB: string;

beforeAll(async () => {
  h = await harness();
  keyA = await h.tenant('alpha');
  keyB = await h.tenant('bravo');
  await h.call('POST', '/v1/tenants/bravo/extensions', { key: keyB, body: { number: '2001', displayName: 'B', password: 'password2001' } });
  await h.call('POST', '/v1/tenants/bravo/ring-groups', { key: keyB, body: { number: '600', name: 'g', strategy: 'ring-all', members: [{ extension: '2001' }] } });
  await h.call('POST', '/v1/tenants/bravo/pickup-groups', { key: keyB, body: { id: 'p', name: 'p', members: ['2001'] } });
  await h.call('POST', '/v1/tenants/bravo/trunks', { key: keyB, body: { id: 't', name: 't', gateways: [{ host: '192.0.2.50' }], channelLimit: 2 } });
  await h.call('POST', '/v1/tenants/bravo/dids', { key: keyB, body: { number: '0355550000', target: { type: 'extension', number: '2001' } } });
});
afterAll(() => h.close());

describe('authentication (401)', () => {
  it.each([
    ['no header', null, undefined],
    ['not bearer', null, { authorization: 'Basic Zm9vOmJhcg==' }],
    ['malformed key', 'hello', undefined],
    ['well-formed unknown key', `kumo_000000000000_${'A'.repeat(43)}`, undefined],
  ])('%s → 401 KUMO_ERR_UNAUTHORIZED', async (_name, key, headers) => {
    const r = await h.call('GET', '/v1/tenants', { key: key, ...(headers ? { headers } : {}) });
    expect(r.statusCode).toBe(401);
    expect(r.json()).toMatchObject({ code: 'KUMO_ERR_UNAUTHORIZED', details: {} });
    expect(r.headers['www-authenticate']).toMatch(/^Bearer/);
  });

  it('public routes need no key', async () => {
    expect((await h.call('GET', '/healthz', { key: null })).statusCode).toBe(200);
    expect((await h.call('GET', '/readyz', { key: null })).json()).toEqual({ status: 'ready', redis: true });
    expect((await h.call('GET', '/metrics', { key: null })).body).toContain('kumo_api_requests_total');
    expect((await h.call('GET', '/docs/json', { key: null })).json()).toMatchObject({ openapi: '3.0.3' });
  });

  it('a revoked key stops working', async () => {
    const r = await h.call('POST', '/v1/tenants/alpha/api-keys', { body: { name: 'temp' } });
    const { key, apiKey } = r.json();
    expect((await h.call('GET', '/v1/tenants/alpha', { key })).statusCode).toBe(200);
    expect((await h.call('DELETE', `/v1/tenants/alpha/api-keys/${apiKey.id}`)).statusCode).toBe(204);
    expect((await h.call('GET', '/v1/tenants/alpha', { key })).statusCode).toBe(401);
    expect((await h.call('DELETE', `/v1/tenants/bravo/api-keys/${apiKey.id}`)).statusCode).toBe(404);
  });

  it('operator keys rotate: issue, list, revoke (not itself)', async () => {
    const issued = (await h.call('POST', '/v1/platform/api-keys', { body: { name: 'second' } })).json();
    expect(issued.apiKey).toMatchObject({ role: 'operator', name: 'second' });
    expect((await h.call('GET', '/v1/platform/api-keys')).json().items.map((k: { name: string }) => k.name)).toEqual(['test operator', 'second']);
    const self = await h.call('DELETE', `/v1/platform/api-keys/${issued.apiKey.id}`, { key: issued.key });
    expect([self.statusCode, self.json().code]).toEqual([409, 'KUMO_ERR_SELF_REVOCATION']);
    const tenantKeyId = (await h.call('GET', '/v1/me', { key: keyA })).json().id;
    expect((await h.call('DELETE', `/v1/platform/api-keys/${tenantKeyId}`, { key: issued.key })).statusCode).toBe(404);
    const first = (await h.call('GET', '/v1/me')).json().id;
    expect((await h.call('DELETE', `/v1/platform/api-keys/${issued.apiKey.id}`)).statusCode).toBe(204);
    expect((await h.call('GET', '/v1/me', { key: issued.key })).statusCode).toBe(401);
    expect((await h.call('GET', '/v1/platform/audit?limit=2')).json().items.map((e: { action: string; actor: { keyId: string } }) => [e.action, e.actor.keyId])).toEqual([
      ['apiKey.revoke', first],
      ['apiKey.issue', first],
    ]);
  });

  it('/v1/me names the principal', async () => {
    expect((await h.call('GET', '/v1/me', { key: keyA })).json()).toMatchObject({ role: 'tenant-admin', tenantId: 'alpha' });
    expect((await h.call('GET', '/v1/me')).json()).toMatchObject({ role: 'operator', tenantId: null });
  });
});

describe('roles (403)', () => {
  it.each([
    ['GET', '/v1/tenants'],
    ['POST', '/v1/tenants'],
    ['GET', '/v1/platform/restriction'],
    ['PUT', '/v1/platform/restriction'],
    ['GET', '/v1/platform/audit'],
    ['GET', '/v1/platform/api-keys'],
    ['POST', '/v1/platform/api-keys'],
    ['DELETE', '/v1/platform/api-keys/abc'],
    ['PATCH', '/v1/tenants/alpha'],
    ['POST', '/v1/tenants/alpha/suspend'],
    ['POST', '/v1/tenants/alpha/resume'],
    ['POST', '/v1/tenants/alpha/terminate'],
    ['DELETE', '/v1/tenants/alpha?confirm=alpha'],
    ['GET', '/v1/tenants/alpha/api-keys'],
    ['POST', '/v1/tenants/alpha/api-keys'],
  ])('tenant admin %s %s → 403', async (method, url) => {
    const body = method === 'GET' || method === 'DELETE' ? undefined : {};
    const r = await h.call(method, url, { key: keyA, body });
    expect(r.statusCode).toBe(403);
    expect(r.json().code).toBe('KUMO_ERR_FORBIDDEN');
  });
});

describe('cross-tenant access (404)', () => {
  it.each([
    ['GET', '/v1/tenants/bravo', undefined],
    ['PATCH', '/v1/tenants/bravo', { notes: 'x' }],
    ['GET', '/v1/tenants/bravo/extensions', undefined],
    ['POST', '/v1/tenants/bravo/extensions', { number: '2002', displayName: 'x', password: 'password12' }],
    ['GET', '/v1/tenants/bravo/extensions/2001', undefined],
    ['PATCH', '/v1/tenants/bravo/extensions/2001', { displayName: 'pwned' }],
    ['DELETE', '/v1/tenants/bravo/extensions/2001', undefined],
    ['GET', '/v1/tenants/bravo/ring-groups/600', undefined],
    ['PUT', '/v1/tenants/bravo/ring-groups/600', { name: 'x', strategy: 'ring-all', members: [{ extension: '2001' }] }],
    ['DELETE', '/v1/tenants/bravo/ring-groups/600', undefined],
    ['GET', '/v1/tenants/bravo/pickup-groups', undefined],
    ['DELETE', '/v1/tenants/bravo/pickup-groups/p', undefined],
    ['GET', '/v1/tenants/bravo/trunks/t', undefined],
    ['DELETE', '/v1/tenants/bravo/trunks/t', undefined],
    ['GET', '/v1/tenants/bravo/dids', undefined],
    ['DELETE', '/v1/tenants/bravo/dids/0355550000', undefined],
    ['PUT', '/v1/tenants/bravo/numbering-plan', { extensionLength: 3 }],
    ['GET', '/v1/tenants/bravo/audit', undefined],
    ['GET', '/v1/tenants/bravo/ledgers/extensions.csv', undefined],
    ['GET', '/v1/tenants/nosuch/extensions', undefined],
    ['GET', '/v1/tenants/bravo/api-keys', undefined],
  ])('alpha admin %s %s → 404', async (method, url, body) => {
    const r = await h.call(method, url, { key: keyA, body });
    expect(r.statusCode).toBe(404);
    // The same answer as for a tenant that does not exist: only the id asked for differs.
    const id = url.split('/')[3];
    expect(r.json()).toEqual({ code: 'KUMO_ERR_NOT_FOUND', message: `tenant ${id} not found`, details: { resource: 'tenant', id } });
  });

  it('nothing of bravo changed', async () => {
    const e = await h.call('GET', '/v1/tenants/bravo/extensions/2001', { key: keyB });
    expect(e.json().displayName).toBe('B');
    expect((await h.call('GET', '/v1/tenants/bravo/ring-groups/600', { key: keyB })).statusCode).toBe(200);
    expect((await h.call('GET', '/v1/tenants/bravo/dids', { key: keyB })).json().items).toHaveLength(1);
  });

  it('operators see missing tenants as 404', async () => {
    expect((await h.call('GET', '/v1/tenants/nosuch')).statusCode).toBe(404);
    expect((await h.call('GET', '/v1/tenants/nosuch/extensions')).statusCode).toBe(404);
  });
});

describe('suspension', () => {
  it('keeps data readable but refuses tenant-admin writes; resume restores them', async () => {
    const k = await h.tenant('charlie');
    expect((await h.call('POST', '/v1/tenants/charlie/extensions', { key: k, body: { number: '1001', displayName: 'c', password: 'password1' } })).statusCode).toBe(201);
    expect((await h.call('POST', '/v1/tenants/charlie/suspend')).json().status).toBe('suspended');
    const w = await h.call('POST', '/v1/tenants/charlie/extensions', { key: k, body: { number: '1002', displayName: 'c', password: 'password1' } });
    expect(w.statusCode).toBe(403);
    expect(w.json().code).toBe('KUMO_ERR_TENANT_SUSPENDED');
    expect((await h.call('GET', '/v1/tenants/charlie/extensions', { key: k })).json().items).toHaveLength(1);
    expect((await h.call('POST', '/v1/tenants/charlie/resume')).json().status).toBe('active');
    expect((await h.call('POST', '/v1/tenants/charlie/extensions', { key: k, body: { number: '1002', displayName: 'c', password: 'password1' } })).statusCode).toBe(201);
  });

  it('termination is final, revokes tenant keys, and deletion needs confirmation', async () => {
    const k = await h.tenant('delta');
    await h.call('POST', '/v1/tenants/delta/extensions', { key: k, body: { number: '1001', displayName: 'd', password: 'password1' } });
    expect((await h.call('DELETE', '/v1/tenants/delta?confirm=delta')).json().code).toBe('KUMO_ERR_TENANT_NOT_TERMINATED');
    expect((await h.call('POST', '/v1/tenants/delta/terminate')).json().status).toBe('terminated');
    expect((await h.call('GET', '/v1/tenants/delta', { key: k })).statusCode).toBe(401);
    const resume = await h.call('POST', '/v1/tenants/delta/resume');
    expect([resume.statusCode, resume.json().code]).toEqual([409, 'KUMO_ERR_TENANT_TERMINATED']);
    const write = await h.call('POST', '/v1/tenants/delta/extensions', { body: { number: '1002', displayName: 'd', password: 'password1' } });
    expect([write.statusCode, write.json().code]).toEqual([409, 'KUMO_ERR_TENANT_TERMINATED']);
    const noConfirm = await h.call('DELETE', '/v1/tenants/delta');
    expect([noConfirm.statusCode, noConfirm.json().code]).toEqual([400, 'KUMO_ERR_CONFIRMATION_REQUIRED']);
    expect((await h.call('GET', '/v1/tenants/delta/extensions')).json().items).toHaveLength(1);
    const del = await h.call('DELETE', '/v1/tenants/delta?confirm=delta');
    expect(del.statusCode).toBe(200);
    expect(del.json().deletedKeys).toBeGreaterThan(3);
    expect((await h.call('GET', '/v1/tenants/delta')).statusCode).toBe(404);
    // the id and the SIP domain are free again
    await h.tenant('delta');
  });
});
