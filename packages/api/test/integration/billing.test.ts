import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import iconv from 'iconv-lite';
import { buildCdr, jstMonthOf, rateCdr, type Cdr } from '@kumo/domain';
import { BillingLedger, CdrStreams, keySchema } from '@kumo/store';
import { harness, type Harness } from './helpers.js';

let h: Harness;
let adminKey: string;
let otherKey: string;
let ledger: BillingLedger;
const month = jstMonthOf(Date.now() - 60_000);

function cdr(i: number, to: string, secs: number): Cdr {
  const t = Date.now() - 60_000 - i * 1000;
  return buildCdr({
    tenantId: 'acme',
    aLegCallId: `api-${i}`,
    aLegFromTag: 'f',
    direction: 'outbound',
    caller: { dialled: '201', extension: '201', department: '営業部' },
    callee: { dialled: to },
    trunkId: 'main',
    startedAt: t,
    answeredAt: t,
    endedAt: t + secs * 1000,
    finalStatus: 200,
  });
}

beforeAll(async () => {
  h = await harness();
  adminKey = await h.tenant('acme');
  otherKey = await h.tenant('other');
  ledger = new BillingLedger(h.redis, keySchema(h.prefix), { closeGraceMs: 172_800_000, tariffCacheMs: 0 });
  const tariff = await ledger.tariffFor('acme');
  await ledger.chargeBatch('acme', [cdr(1, '09012345678', 61), cdr(2, '0312345678', 200), cdr(3, '0101202555000', 30)].map((c) => rateCdr(c, tariff)));
});
afterAll(() => h.close());

describe('billing API', () => {
  it('tenants read the current month so far as JSON', async () => {
    const r = await h.call('GET', '/v1/tenants/acme/billing/months/current', { key: adminKey });
    expect(r.statusCode).toBe(200);
    const body = r.json();
    expect(body).toMatchObject({ tenantId: 'acme', month, status: 'open', minorUnit: '0.01 JPY' });
    expect(body.main).toMatchObject({ calls: 3, answered: 3, charge: 3200 + 1700 + 900 });
    expect(body.main.byDepartment).toEqual([{ key: '営業部', calls: 3, answered: 3, seconds: 291, charge: 5800 }]);
    expect(body.tax).toEqual([{ rateBp: 1000, subtotal: 5800, subtotalYen: 58, taxYen: 5 }]);
    expect(body.totalYen).toBe(63);
    expect((await h.call('GET', `/v1/tenants/acme/billing/months/${month}`, { key: adminKey })).json().main.calls).toBe(3);
  });

  it('report CSV in UTF-8 and Shift_JIS', async () => {
    const u = await h.call('GET', '/v1/tenants/acme/billing/months/current/report.csv', { key: adminKey });
    expect(u.statusCode).toBe(200);
    expect(u.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(u.body).toContain('main,department,営業部,3,3,291,58.00\r\n');
    expect(u.body).toContain('summary,,total_jpy,,,,63\r\n');
    const s = await h.call('GET', '/v1/tenants/acme/billing/months/current/report.csv?encoding=shift_jis&lang=ja', { key: adminKey });
    expect(s.headers['content-type']).toBe('text/csv; charset=Windows-31J');
    const text = iconv.decode(s.rawPayload, 'Shift_JIS');
    expect(text.split('\r\n')[0]).toBe('区分,集計軸,項目,通話数,応答数,課金秒数,金額(円)');
    expect(text).toContain('営業部');
  });

  it('per-call detail is paginated and exportable', async () => {
    const p1 = await h.call('GET', `/v1/tenants/acme/billing/months/${month}/calls?limit=2`, { key: adminKey });
    expect(p1.statusCode).toBe(200);
    expect(p1.json()).toMatchObject({ total: 3, next: '2' });
    expect(p1.json().items.map((c: { cls: string }) => c.cls)).toEqual(['international', 'fixed']);
    const p2 = await h.call('GET', `/v1/tenants/acme/billing/months/${month}/calls?limit=2&after=2`, { key: adminKey });
    expect(p2.json()).toMatchObject({ total: 3, next: null, items: [{ cls: 'mobile', charge: 3200, units: 2, section: 'main' }] });
    const csv = await h.call('GET', `/v1/tenants/acme/billing/months/${month}/calls.csv`, { key: adminKey });
    expect(csv.body.trim().split('\r\n')).toHaveLength(4);
    expect(csv.body).toContain(',mobile,mobile,61,2,32.00,10\r\n');
  });

  it('access: tenant admins see only their tenant and cannot change tariffs or re-rate', async () => {
    expect((await h.call('GET', '/v1/tenants/acme/billing/months/current', { key: otherKey })).statusCode).toBe(404);
    expect((await h.call('GET', '/v1/tenants/acme/billing/tariff', { key: adminKey })).statusCode).toBe(200);
    expect((await h.call('PUT', '/v1/tenants/acme/billing/tariff', { key: adminKey, body: {} })).statusCode).toBe(403);
    expect((await h.call('POST', `/v1/tenants/acme/billing/months/${month}/rerate`, { key: adminKey, body: { reason: 'x y z' } })).statusCode).toBe(403);
    expect((await h.call('GET', '/v1/billing/dead-letters', { key: adminKey })).statusCode).toBe(403);
    expect((await h.call('GET', '/v1/tenants/acme/billing/months/2026-13', { key: adminKey })).json().code).toBe('KUMO_ERR_VALIDATION');
  });

  it('operators manage tariffs and re-rate a month (audited)', async () => {
    const bad = await h.call('PUT', '/v1/tenants/acme/billing/tariff', { body: { classes: { mobile: { unitSeconds: 0, unitPrice: 1 } } } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ code: 'KUMO_ERR_VALIDATION', details: { problems: [{ field: 'classes.mobile.unitSeconds' }] } });
    const ok = await h.call('PUT', '/v1/tenants/acme/billing/tariff', { body: { classes: { mobile: { unitSeconds: 30, unitPrice: 500 } } } });
    expect(ok.statusCode).toBe(200);
    const view = (await h.call('GET', '/v1/tenants/acme/billing/tariff')).json();
    expect(view.effective.classes.mobile).toEqual({ unitSeconds: 30, unitPrice: 500 });
    expect(view.platform.classes.mobile).toEqual({ unitSeconds: 60, unitPrice: 1600 });
    const rr = await h.call('POST', `/v1/tenants/acme/billing/months/${month}/rerate`, { body: { reason: 'mobile tariff correction' } });
    expect(rr.statusCode).toBe(200);
    expect(rr.json()).toMatchObject({ month, changed: 1, skipped: 0, beforeTotalYen: 63 });
    const after = (await h.call('GET', `/v1/tenants/acme/billing/months/${month}`)).json();
    expect(after.main.charge).toBe(1500 + 1700 + 900);
    const audit = await ledger.auditLog('acme');
    expect(audit[0]).toMatchObject({ action: 'rerate', reason: 'mobile tariff correction', actor: expect.stringContaining('operator:') });
    const badPlatform = await h.call('PUT', '/v1/billing/tariff', { body: { classes: {}, tax: [] } });
    expect(badPlatform.statusCode).toBe(400);
    expect((await h.call('GET', '/v1/billing/tariff')).json().tax).toHaveLength(2);
  });

  it('operators close a month: later calls become adjustments of the next month', async () => {
    const c = await h.call('POST', `/v1/tenants/acme/billing/months/${month}/close`);
    expect(c.statusCode).toBe(200);
    expect(c.json()).toMatchObject({ month, calls: 3, reconciled: true, mismatches: [] });
    const late = rateCdr(cdr(9, '05012345678', 10), await ledger.tariffFor('acme'));
    expect((await ledger.chargeBatch('acme', [late]))[0]).toMatchObject({ section: 'adj' });
    expect((await h.call('GET', `/v1/tenants/acme/billing/months/${month}`)).json()).toMatchObject({ status: 'closed', main: { calls: 3 } });
  });

  it('operators list and replay dead letters', async () => {
    const streams = new CdrStreams(h.redis, keySchema(h.prefix), 4);
    await streams.ensureGroup();
    const id = await streams.publishCdr(cdr(20, '0312345678', 5));
    const [e] = await streams.read(h.redis, { shard: streams.shardOf('acme'), consumer: 't', count: 10 });
    expect(e!.id).toBe(id);
    await streams.deadLetter(e!, 'boom', 5);
    const list = await h.call('GET', '/v1/billing/dead-letters');
    expect(list.statusCode).toBe(200);
    expect(list.json()).toMatchObject({ total: 1, next: null, items: [{ entryId: id, error: 'boom', deliveries: 5 }] });
    const dl = list.json().items[0].id as string;
    const rp = await h.call('POST', `/v1/billing/dead-letters/${dl}/replay`);
    expect(rp.statusCode).toBe(200);
    expect(rp.json().entryId).toMatch(/^\d+-\d+$/);
    expect((await h.call('POST', `/v1/billing/dead-letters/${dl}/replay`)).statusCode).toBe(404);
  });
});
