import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { harness, type Harness } from './helpers.js';

let h: Harness;
beforeAll(async () => {
  h = await harness();
  await h.tenant('edge');
});
afterAll(() => h.close());

describe('edges of the HTTP surface', () => {
  it.each([
    ['GET', '/v1/tenants/%zz', 400, 'KUMO_ERR_BAD_REQUEST'],
    ['GET', '/v1/tenants/edge/extensions/%E0%A4%A', 400, 'KUMO_ERR_BAD_REQUEST'],
    ['OPTIONS', '/v1/tenants', 404, 'KUMO_ERR_ROUTE_NOT_FOUND'],
    ['POST', '/v1/tenants/edge/extensions/1001', 404, 'KUMO_ERR_ROUTE_NOT_FOUND'],
  ] as const)('%s %s → %d %s', async (method, url, status, code) => {
    const r = await h.call(method, url);
    expect([r.statusCode, r.json().code]).toEqual([status, code]);
    expect(Object.keys(r.json()).sort()).toEqual(['code', 'details', 'message']);
  });

  it('accepts JSON only', async () => {
    const text = await h.call('POST', '/v1/tenants/edge/extensions', { raw: '{"number":"1001"}', headers: { 'content-type': 'text/plain' } });
    expect([text.statusCode, text.json().code]).toEqual([415, 'KUMO_ERR_UNSUPPORTED_MEDIA_TYPE']);
    const none = await h.app.inject({ method: 'POST', url: '/v1/tenants/edge/extensions', headers: { authorization: `Bearer ${h.operatorKey}` }, payload: Buffer.from('x') });
    expect(none.statusCode).toBe(415);
  });

  it('clamps list limits to 1..1000', async () => {
    for (let i = 0; i < 3; i++) await h.tenant(`edge${i}`);
    expect((await h.call('GET', '/v1/tenants?limit=0')).json().items).toHaveLength(1);
    expect((await h.call('GET', '/v1/tenants?limit=9999')).json().items).toHaveLength(4);
    const p = (await h.call('GET', '/v1/tenants?limit=2')).json();
    expect(p.next).toBe('edge0');
    expect((await h.call('GET', `/v1/tenants?limit=2&after=${p.next}`)).json().items.map((t: { id: string }) => t.id)).toEqual(['edge1', 'edge2']);
  });
});
