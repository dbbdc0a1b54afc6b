import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCdr, jstMonthStartMs, rateCdr, type CallFacts } from '@kumo/domain';
import { BillingLedger, keySchema } from '@kumo/store';
import { harness, type Harness } from './helpers.js';

let h: Harness;
let adminKey: string;
let otherKey: string;
const H = 3_600_000;
const NOV = jstMonthStartMs('2026-11');

function cdr(i: number, startH: number, minutes: number, extra: Partial<CallFacts> = {}) {
  const t = NOV + startH * H;
  return buildCdr({
    tenantId: 'acme',
    aLegCallId: `traffic-${i}`,
    aLegFromTag: 'f',
    direction: 'outbound',
    caller: { dialled: '201', extension: '201' },
    callee: { dialled: '0312345678' },
    trunkId: 'main',
    startedAt: t,
    answeredAt: t + 5000,
    endedAt: t + minutes * 60_000,
    finalStatus: 200,
    ...extra,
  });
}

beforeAll(async () => {
  h = await harness();
  adminKey = await h.tenant('acme');
  otherKey = await h.tenant('other');
  const ledger = new BillingLedger(h.redis, keySchema(h.prefix), { closeGraceMs: 172_800_000, tariffCacheMs: 0 });
  const tariff = await ledger.tariffFor('acme');
  const cdrs = [
    cdr(1, 9, 30),
    cdr(2, 9.5, 60),
    cdr(3, 9.6, 0, { answeredAt: undefined, rejectionReason: 'port-limit', finalStatus: 503, trunkId: undefined }),
    cdr(4, 10, 6, { direction: 'inbound', group: '600', trunkId: 'main' }),
  ];
  await ledger.chargeBatch('acme', cdrs.map((c) => rateCdr(c, tariff)));
});
afterAll(() => h.close());

describe('traffic report API', () => {
  it('JSON per day with busy hour, blocking and sizing; hourly on request', async () => {
    const r = await h.call('GET', '/v1/tenants/acme/traffic/2026-11', { key: adminKey });
    expect(r.statusCode).toBe(200);
    const body = r.json();
    expect(body).toMatchObject({ tenantId: 'acme', month: '2026-11', calls: 4 });
    expect(body.tenant.totals).toMatchObject({ offered: 4, carried: 3, blocked: 1 });
    expect(body.tenant.blockedBy).toEqual({ ports: 1, trunk: 0 });
    expect(body.tenant.busyHour).toMatchObject({ hour: '2026-11-01T09:00+09:00', offered: 3, blocked: 1 });
    expect(body.tenant.busyHour.erlangs).toBeCloseTo(1, 9);
    expect(body.tenant.sizing.capacity).toBe(100);
    expect(body.tenant.hours).toBeUndefined();
    expect(body.tenant.days).toHaveLength(30);
    expect(body.trunks.map((s: { key: string }) => s.key)).toEqual(['main']);
    expect(body.groups[0]).toMatchObject({ key: '600', totals: { offered: 1 } });
    const hourly = (await h.call('GET', '/v1/tenants/acme/traffic/2026-11?detail=hour', { key: adminKey })).json();
    expect(hourly.tenant.hours).toHaveLength(720);
    expect(hourly.tenant.hours[10].erlangs).toBeCloseTo(0.6, 9);
  });

  it('CSV in English and Japanese', async () => {
    const en = await h.call('GET', '/v1/tenants/acme/traffic/2026-11/report.csv', { key: adminKey });
    expect(en.statusCode).toBe(200);
    expect(en.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(en.body).toContain('tenant,acme,day,2026-11-01,4,3,1,0.2500,');
    const ja = await h.call('GET', '/v1/tenants/acme/traffic/2026-11/report.csv?lang=ja', { key: adminKey });
    expect(ja.body.split('\r\n')[0]).toContain('呼損率');
  });

  it('tenant isolation and validation', async () => {
    expect((await h.call('GET', '/v1/tenants/acme/traffic/2026-11', { key: otherKey })).statusCode).toBe(404);
    const other = (await h.call('GET', '/v1/tenants/other/traffic/2026-11', { key: otherKey })).json();
    expect(other.calls).toBe(0);
    expect((await h.call('GET', '/v1/tenants/acme/traffic/2026-13', { key: adminKey })).statusCode).toBe(400);
    expect((await h.call('GET', '/v1/tenants/acme/traffic/2026-11?target=2', { key: adminKey })).statusCode).toBe(400);
  });
});
