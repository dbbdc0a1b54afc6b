import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { harness, type Harness } from './helpers.js';

let h: Harness;
let base: string;
let key: string;

beforeAll(async () => {
  h = await harness({ bodyLimit: 4096 });
  key = await h.tenant('web');
  await h.app.listen({ host: '127.0.0.1', port: 0 });
  const a = h.app.server.address();
  base = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
});
afterAll(() => h.close());

async function http(method: string, path: string, o: { body?: string; type?: string; auth?: string | null } = {}) {
  const headers: Record<string, string> = {};
  const auth = o.auth === undefined ? key : o.auth;
  if (auth !== null) headers.authorization = `Bearer ${auth}`;
  if (o.body !== undefined) headers['content-type'] = o.type ?? 'application/json';
  const r = await fetch(`${base}${path}`, { method, headers, ...(o.body !== undefined ? { body: o.body } : {}) });
  const text = await r.text();
  let json: { code?: string; message?: string; details?: Record<string, unknown> } = {};
  try {
    json = JSON.parse(text) as typeof json;
  } catch {
    /* not json */
  }
  return { status: r.status, json, text, headers: r.headers };
}

const good = JSON.stringify({ number: '1001', displayName: 'Web', password: 'pass1001' });

describe('over real HTTP', () => {
  it.each([
    ['malformed JSON', '{"number": "1001",', 'application/json', 400, 'KUMO_ERR_MALFORMED_JSON'],
    ['empty JSON body', '', 'application/json', 400, 'KUMO_ERR_MALFORMED_JSON'],
    ['JSON array instead of object', '[]', 'application/json', 400, 'KUMO_ERR_VALIDATION'],
    ['wrong type', JSON.stringify({ number: 1001, displayName: 'x', password: 'pass1001' }), 'application/json', 400, 'KUMO_ERR_VALIDATION'],
    ['missing field', JSON.stringify({ number: '1001', displayName: 'x' }), 'application/json', 400, 'KUMO_ERR_VALIDATION'],
    ['unknown field', JSON.stringify({ number: '1001', displayName: 'x', password: 'pass1001', ha1Md5: 'f'.repeat(32) }), 'application/json', 400, 'KUMO_ERR_UNKNOWN_FIELD'],
    ['nested unknown field', JSON.stringify({ number: '1001', displayName: 'x', password: 'pass1001', device: { color: 'red' } }), 'application/json', 400, 'KUMO_ERR_UNKNOWN_FIELD'],
    ['wrong digits for the plan', JSON.stringify({ number: '10011', displayName: 'x', password: 'pass1001' }), 'application/json', 400, 'KUMO_ERR_VALIDATION'],
    ['short password', JSON.stringify({ number: '1001', displayName: 'x', password: 'short' }), 'application/json', 400, 'KUMO_ERR_VALIDATION'],
    ['oversized body', JSON.stringify({ number: '1001', displayName: 'x'.repeat(5000), password: 'pass1001' }), 'application/json', 413, 'KUMO_ERR_BODY_TOO_LARGE'],
    ['unsupported media type', 'number=1001', 'application/x-www-form-urlencoded', 415, 'KUMO_ERR_UNSUPPORTED_MEDIA_TYPE'],
    ['__proto__ poisoning', '{"number":"1001","displayName":"x","password":"pass1001","__proto__":{"admin":true}}', 'application/json', 400, 'KUMO_ERR_MALFORMED_JSON'],
  ])('%s', async (_name, body, type, status, code) => {
    const r = await http('POST', '/v1/tenants/web/extensions', { body, type });
    expect(r.status).toBe(status);
    expect(r.json.code).toBe(code);
    expect(r.json).toHaveProperty('message');
    expect(r.json).toHaveProperty('details');
  });

  it('unknown fields are named in details', async () => {
    const r = await http('POST', '/v1/tenants/web/extensions', { body: JSON.stringify({ number: '1001', displayName: 'x', password: 'pass1001', foo: 1 }) });
    expect(r.json.details).toEqual({ problems: [{ field: 'foo', message: 'must NOT have additional properties' }] });
  });

  it.each([
    ['GET', '/v1/nothing-here', 404, 'KUMO_ERR_ROUTE_NOT_FOUND'],
    ['GET', '/v1/tenants/web/extensions/9999', 404, 'KUMO_ERR_NOT_FOUND'],
    ['GET', '/v1/tenants/web/extensions?limit=abc', 400, 'KUMO_ERR_VALIDATION'],
    ['GET', '/v1/tenants/web/extensions?bogus=1', 400, 'KUMO_ERR_UNKNOWN_FIELD'],
    ['GET', '/v1/tenants/web/ledgers/extensions.csv?encoding=latin1', 400, 'KUMO_ERR_VALIDATION'],
    ['PATCH', '/v1/tenants/web/extensions/9999', 404, 'KUMO_ERR_NOT_FOUND'],
    ['DELETE', '/v1/tenants/web/trunks/none', 404, 'KUMO_ERR_NOT_FOUND'],
  ])('%s %s → %d %s', async (method, path, status, code) => {
    const r = await http(method, path, method === 'PATCH' ? { body: '{}' } : {});
    expect([r.status, r.json.code]).toEqual([status, code]);
  });

  it('creates, never returns secrets, and 401s without a key', async () => {
    const r = await http('POST', '/v1/tenants/web/extensions', { body: good });
    expect(r.status).toBe(201);
    expect(r.text).not.toMatch(/ha1|pass1001|password/i);
    expect(r.headers.get('content-type')).toMatch(/application\/json/);
    const list = await http('GET', '/v1/tenants/web/extensions');
    expect(list.text).not.toMatch(/ha1|password/i);
    expect((await http('GET', '/v1/tenants/web/extensions', { auth: null })).status).toBe(401);
    const dup = await http('POST', '/v1/tenants/web/extensions', { body: good });
    expect([dup.status, dup.json.code]).toEqual([409, 'KUMO_ERR_NUMBER_TAKEN']);
  });

  it('50 concurrent HTTP creates at the port limit: exactly the remaining ports succeed', async () => {
    await h.call('POST', '/v1/tenants', { body: { id: 'webrace', name: 'r', sipDomain: 'webrace.kumo.test', ports: 100, trunkChannels: 1, callsPerSecond: 1 } });
    const k = (await h.call('POST', '/v1/tenants/webrace/api-keys', { body: { name: 'a' } })).json().key as string;
    for (let i = 0; i < 75; i++) {
      await h.call('POST', '/v1/tenants/webrace/extensions', { key: k, body: { number: String(5000 + i), displayName: 'x', password: 'password' } });
    }
    const rs = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        http('POST', '/v1/tenants/webrace/extensions', { auth: k, body: JSON.stringify({ number: String(6000 + i), displayName: 'x', password: 'password' }) }),
      ),
    );
    expect(rs.filter((r) => r.status === 201)).toHaveLength(25);
    expect(rs.filter((r) => r.status === 409 && r.json.code === 'KUMO_ERR_PORT_LIMIT')).toHaveLength(25);
    const page = await http('GET', '/v1/tenants/webrace/extensions?limit=1000', { auth: k });
    expect((JSON.parse(page.text) as { items: unknown[] }).items).toHaveLength(100);
  });

  it('serves the OpenAPI UI', async () => {
    const r = await http('GET', '/docs', { auth: null });
    expect(r.status).toBeLessThan(400);
    const doc = JSON.parse((await http('GET', '/docs/json', { auth: null })).text) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toContain('/v1/tenants/{tenantId}/extensions');
  });
});
