/** Operator-owned numbers and carrier gateways (docs/security.md). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { harness, type Harness } from './helpers.js';

let h: Harness;
let key: string;
let keyB: string;

/** A tenant without the test pools: nothing granted. */
async function bareTenant(id: string): Promise<string> {
  const r = await h.call('POST', '/v1/tenants', { body: { id, name: id, sipDomain: `${id}.kumo.test`, ports: 100, trunkChannels: 10, callsPerSecond: 5 } });
  expect(r.statusCode).toBe(201);
  const k = await h.call('POST', `/v1/tenants/${id}/api-keys`, { body: { name: 'admin' } });
  await h.call('POST', `/v1/tenants/${id}/extensions`, { body: { number: '1001', displayName: 'A', password: 'pass10001' } });
  return k.json<{ key: string }>().key;
}

const trunk = (host: string, id = 't1') => ({ id, name: 'Carrier', gateways: [{ host }], channelLimit: 2 });
const did = (number: string) => ({ number, target: { type: 'extension', number: '1001' } });

beforeAll(async () => {
  h = await harness();
  key = await bareTenant('own-a');
  keyB = await bareTenant('own-b');
});
afterAll(() => h.close());

describe('numbers', () => {
  it('tenant admins add only DIDs the operator assigned (listed or in a block)', async () => {
    const refused = await h.call('POST', '/v1/tenants/own-a/dids', { key, body: did('0312340001') });
    expect([refused.statusCode, refused.json().code]).toEqual([403, 'KUMO_ERR_NOT_ASSIGNED']);
    expect((await h.call('PUT', '/v1/tenants/own-a/grants', { key, body: { numbers: ['0312340001'] } })).statusCode).toBe(403);
    const g = await h.call('PUT', '/v1/tenants/own-a/grants', { body: { numbers: ['03-1234-0001'], blocks: [{ first: '0312345000', count: 100 }] } });
    expect(g.json()).toEqual({ numbers: ['+81312340001'], blocks: [{ first: '+81312345000', count: 100 }], gateways: [] });
    expect((await h.call('GET', '/v1/tenants/own-a/grants', { key })).json().numbers).toEqual(['+81312340001']);
    expect((await h.call('POST', '/v1/tenants/own-a/dids', { key, body: did('0312340001') })).statusCode).toBe(201);
    expect((await h.call('POST', '/v1/tenants/own-a/dids', { key, body: did('+81312345099') })).statusCode).toBe(201);
    expect((await h.call('POST', '/v1/tenants/own-a/dids', { key, body: did('+81312345100') })).json().code).toBe('KUMO_ERR_NOT_ASSIGNED');
    // Tenant admins route what they were given.
    expect((await h.call('PUT', '/v1/tenants/own-a/dids/0312340001', { key, body: { target: { type: 'extension', number: '1001' }, description: 'main' } })).statusCode).toBe(200);
  });

  it('a number granted by mistake to two tenants: the second is refused without naming the first', async () => {
    await h.call('PUT', '/v1/tenants/own-b/grants', { body: { numbers: ['0312340001'] } });
    const r = await h.call('POST', '/v1/tenants/own-b/dids', { key: keyB, body: did('0312340001') });
    expect([r.statusCode, r.json().code]).toEqual([403, 'KUMO_ERR_NOT_ASSIGNED']);
    expect(r.body).not.toMatch(/another|own-a/);
  });
});

describe('carrier gateways', () => {
  it.each(['0.0.0.0', '::', 'localhost'])('%s is never a gateway: 400 KUMO_ERR_VALIDATION for everyone (unspecified, or a name of this host)', async (host) => {
    for (const k of [key, undefined]) {
      const r = await h.call('POST', '/v1/tenants/own-a/trunks', { ...(k ? { key: k } : {}), body: trunk(host) });
      expect([r.statusCode, r.json().code, r.json().details.problems?.[0]?.field]).toEqual([400, 'KUMO_ERR_VALIDATION', 'gateways/0/host']);
    }
  });

  it.each(['127.0.0.1', '255.255.255.255', '::ffff:127.0.0.1', '169.254.0.1', '224.0.0.1'])(
    '%s is refused for tenant admins and operators unless granted explicitly',
    async (host) => {
      const a = await h.call('POST', '/v1/tenants/own-a/trunks', { key, body: trunk(host) });
      expect([a.statusCode, a.json().code]).toEqual([400, 'KUMO_ERR_ADDRESS_NOT_ALLOWED']);
      const o = await h.call('POST', '/v1/tenants/own-a/trunks', { body: trunk(host) });
      expect([o.statusCode, o.json().code]).toEqual([400, 'KUMO_ERR_ADDRESS_NOT_ALLOWED']);
    },
  );

  it('granting a special address needs allowSpecial; then it can be used', async () => {
    const bad = await h.call('PUT', '/v1/tenants/own-a/grants', { body: { gateways: ['127.0.0.1'] } });
    expect([bad.statusCode, bad.json().code]).toEqual([400, 'KUMO_ERR_VALIDATION']);
    expect((await h.call('PUT', '/v1/tenants/own-a/grants', { body: { gateways: ['127.0.0.1', '203.0.113.7'], allowSpecial: true } })).statusCode).toBe(200);
    expect((await h.call('POST', '/v1/tenants/own-a/trunks', { key, body: trunk('127.0.0.1', 'lab') })).statusCode).toBe(201);
  });

  it('tenant admins use only granted gateways; operators may assign any ordinary address', async () => {
    const r = await h.call('POST', '/v1/tenants/own-a/trunks', { key, body: trunk('198.51.100.77') });
    expect([r.statusCode, r.json().code]).toEqual([403, 'KUMO_ERR_NOT_ASSIGNED']);
    expect((await h.call('POST', '/v1/tenants/own-a/trunks', { key, body: trunk('203.0.113.7') })).statusCode).toBe(201);
    expect((await h.call('POST', '/v1/tenants/own-a/trunks', { body: trunk('198.51.100.77', 'op') })).statusCode).toBe(201);
    // Changing a trunk keeps its existing gateways without a new grant check, but a new one needs a grant.
    const put = await h.call('PUT', '/v1/tenants/own-a/trunks/op', { key, body: { name: 'Op', gateways: [{ host: '198.51.100.77' }], channelLimit: 1 } });
    expect(put.statusCode).toBe(200);
    const moved = await h.call('PUT', '/v1/tenants/own-a/trunks/op', { key, body: { name: 'Op', gateways: [{ host: '198.51.100.78' }], channelLimit: 1 } });
    expect(moved.json().code).toBe('KUMO_ERR_NOT_ASSIGNED');
  });

  it("another tenant's gateway: refused without revealing it", async () => {
    await h.call('PUT', '/v1/tenants/own-b/grants', { body: { gateways: ['203.0.113.7'] } });
    const r = await h.call('POST', '/v1/tenants/own-b/trunks', { key: keyB, body: trunk('203.0.113.7') });
    expect([r.statusCode, r.json().code]).toEqual([403, 'KUMO_ERR_NOT_ASSIGNED']);
    expect(r.body).not.toMatch(/another|own-a|trunk t1/);
  });
});

describe('caller ID rules', () => {
  it("outbound caller IDs must be the tenant's DIDs or operator-approved numbers", async () => {
    const foreign = await h.call('PATCH', '/v1/tenants/own-a/extensions/1001', { key, body: { outboundCallerId: '+14155550100' } });
    expect([foreign.statusCode, foreign.json().code]).toEqual([400, 'KUMO_ERR_CALLER_ID_NOT_OWNED']);
    expect(foreign.json().details.problems[0].field).toBe('outboundCallerId');
    // Someone else's Japanese number: refused too, as for operators.
    expect((await h.call('PATCH', '/v1/tenants/own-a/extensions/1001', { body: { outboundCallerId: '0355550000' } })).json().code).toBe('KUMO_ERR_CALLER_ID_NOT_OWNED');
    const ext = await h.call('POST', '/v1/tenants/own-a/extensions', { key, body: { number: '1002', displayName: 'B', password: 'pass10002', outboundCallerId: '+14155550100' } });
    expect(ext.json().code).toBe('KUMO_ERR_CALLER_ID_NOT_OWNED');
    // Its DIDs (added earlier) are fine; so is a number an operator approved (granted).
    expect((await h.call('PATCH', '/v1/tenants/own-a/extensions/1001', { key, body: { outboundCallerId: '03-1234-0001' } })).json().outboundCallerId).toBe('+81312340001');
    expect((await h.call('PATCH', '/v1/tenants/own-a/extensions/1001', { key, body: { outboundCallerId: '+81312345099' } })).statusCode).toBe(200);
    await h.call('PUT', '/v1/tenants/own-a/grants', { body: { numbers: ['0312349999'], gateways: ['203.0.113.7', '203.0.113.8'] } });
    expect((await h.call('PATCH', '/v1/tenants/own-a/extensions/1001', { key, body: { outboundCallerId: '0312349999' } })).statusCode).toBe(200);
    const tr = await h.call('POST', '/v1/tenants/own-a/trunks', { key, body: { ...trunk('203.0.113.7', 'cid'), callerId: '+14155550100' } });
    expect(tr.json().code).toBe('KUMO_ERR_CALLER_ID_NOT_OWNED');
    const ok = await h.call('POST', '/v1/tenants/own-a/trunks', { key, body: { ...trunk('203.0.113.8', 'cid'), callerId: '0312340001', numberFormat: 'national' } });
    expect(ok.statusCode).toBe(201);
  });
});

describe('toll-fraud guard settings', () => {
  it('operators set limits and lift blocks; tenant admins read', async () => {
    const s = await h.call('GET', '/v1/tenants/own-a/toll-fraud', { key });
    expect(s.json()).toMatchObject({ custom: false, blocked: [], thisHour: { international: 0, premium: 0 } });
    expect((await h.call('PUT', '/v1/tenants/own-a/toll-fraud/limits', { key, body: { internationalPerHour: 1000, premiumPerHour: 1000 } })).statusCode).toBe(403);
    const set = await h.call('PUT', '/v1/tenants/own-a/toll-fraud/limits', { body: { internationalPerHour: 5, premiumPerHour: 0 } });
    expect(set.json()).toMatchObject({ custom: true, limits: { internationalPerHour: 5, premiumPerHour: 0, spendPerHour: 500_000 }, thisHour: { spend: 0 } });
    const spend = await h.call('PUT', '/v1/tenants/own-a/toll-fraud/limits', { body: { internationalPerHour: 5, premiumPerHour: 0, spendPerHour: 20_000 } });
    expect(spend.json()).toMatchObject({ limits: { spendPerHour: 20_000 } });
    expect((await h.call('PUT', '/v1/tenants/own-a/toll-fraud/limits', { body: { internationalPerHour: 5, premiumPerHour: 0, spendPerHour: -1 } })).statusCode).toBe(400);
    expect((await h.call('POST', '/v1/tenants/own-a/toll-fraud/unblock', { body: { class: 'international' } })).json().code).toBe('KUMO_ERR_NOT_FOUND');
    const o = await h.call('POST', '/v1/tenants/own-a/toll-fraud/unblock', { body: { class: 'premium', overrideHours: 2 } });
    expect(o.json().overrides).toMatchObject([{ cls: 'premium' }]);
    expect((await h.call('POST', '/v1/tenants/own-a/toll-fraud/unblock', { key, body: { class: 'premium' } })).statusCode).toBe(403);
  });
});
