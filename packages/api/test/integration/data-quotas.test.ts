/**
 * Per-tenant data quotas through the API (docs/security.md, "Data quotas"): the ticket cap (409
 * KUMO_ERR_QUOTA_EXCEEDED with quota, limit, used), notes per ticket, the CDR detail retention within the operator's
 * maximum (400 outside it), and the retention job deleting per-call detail older than the tenant's retention while
 * the month totals stay.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCdr, rateCdr } from '@kumo/domain';
import { BillingLedger, DataQuotaStore, keySchema } from '@kumo/store';
import { harness, type Harness } from './helpers.js';

let h: Harness;
let key: string;
const DAY = 86_400_000;

beforeAll(async () => {
  h = await harness();
  key = await h.tenant('quota');
});
afterAll(async () => {
  await h?.close();
});

type Err = { code: string; details: Record<string, unknown> };
const ticket = { kind: 'inquiry', subject: 'help', body: 'how do I…', reportedBy: 'desk' };

describe('data quotas', () => {
  it('tenant admins read their quotas and usage; only operators set them, within the operator maximum', async () => {
    const q = await h.call('GET', '/v1/tenants/quota/data-quotas', { key });
    expect(q.statusCode).toBe(200);
    expect(q.json()).toMatchObject({ cdrDetailRetentionDays: 400, ticketsMax: 5000, custom: false, maxCdrDetailRetentionDays: 400, usage: { tickets: 0 } });
    expect((await h.call('PUT', '/v1/tenants/quota/data-quotas', { key, body: { ticketsMax: 100000 } })).statusCode).toBe(403);
    const short = await h.call('PUT', '/v1/tenants/quota/data-quotas', { body: { cdrDetailRetentionDays: 30 } });
    expect(short.statusCode).toBe(400);
    expect(short.json<Err>().code).toBe('KUMO_ERR_VALIDATION');
    const long = await h.call('PUT', '/v1/tenants/quota/data-quotas', { body: { cdrDetailRetentionDays: 401 } });
    expect(long.statusCode).toBe(400);
    expect(long.json<Err>()).toMatchObject({ code: 'KUMO_ERR_VALIDATION', details: { problems: [{ field: 'cdrDetailRetentionDays' }] } });
    const set = await h.call('PUT', '/v1/tenants/quota/data-quotas', { body: { ticketsMax: 2, cdrDetailRetentionDays: 62 } });
    expect(set.statusCode).toBe(200);
    expect(set.json()).toMatchObject({ ticketsMax: 2, cdrDetailRetentionDays: 62, custom: true });
  });

  it('the ticket cap: a tenant admin\'s ticket past it is a 409 with the quota, limit and usage; operators are not limited; notes are capped too', async () => {
    expect((await h.call('POST', '/v1/tenants/quota/tickets', { key, body: ticket })).statusCode).toBe(201);
    const second = await h.call('POST', '/v1/tenants/quota/tickets', { key, body: ticket });
    expect(second.statusCode).toBe(201);
    const third = await h.call('POST', '/v1/tenants/quota/tickets', { key, body: ticket });
    expect(third.statusCode).toBe(409);
    expect(third.json<Err>()).toMatchObject({ code: 'KUMO_ERR_QUOTA_EXCEEDED', details: { quota: 'tickets', limit: 2, used: 2 } });
    expect((await h.call('POST', '/v1/tenants/quota/tickets', { body: { ...ticket, channel: 'phone' } })).statusCode).toBe(201);
    expect((await h.call('GET', '/v1/tenants/quota/data-quotas', { key })).json()).toMatchObject({ usage: { tickets: 3 } });
    // Notes per ticket: the harness runs with the default cap (200); fill a ticket to it directly in the test's Redis.
    const id = second.json<{ id: string }>().id;
    const k = keySchema(h.prefix).tenant.opsTickets('quota');
    const stored = JSON.parse((await h.redis.hget(k, id)) ?? '{}') as { notes: unknown[] };
    stored.notes = Array.from({ length: 200 }, (_, i) => ({ at: i, by: 'x', text: `n${i}` }));
    await h.redis.hset(k, id, JSON.stringify(stored));
    const note = await h.call('PATCH', `/v1/tenants/quota/tickets/${id}`, { key, body: { note: 'one more' } });
    expect(note.statusCode).toBe(409);
    expect(note.json<Err>()).toMatchObject({ code: 'KUMO_ERR_QUOTA_EXCEEDED', details: { quota: 'ticket notes', limit: 200, used: 200 } });
  });

  it('the retention job deletes per-call detail older than the tenant\'s retention; month totals stay', async () => {
    const keys = keySchema(h.prefix);
    const ledger = new BillingLedger(h.redis, keys, { closeGraceMs: 2 * DAY, tariffCacheMs: 0 });
    const tariff = await ledger.tariffFor('quota');
    const now = Date.now();
    const call = (id: string, startedAt: number) =>
      rateCdr(buildCdr({
        tenantId: 'quota', aLegCallId: id, aLegFromTag: 'f', direction: 'outbound', caller: { dialled: '201', extension: '201' },
        callee: { dialled: '0312345678', e164: '+81312345678' }, trunkId: 'tr', startedAt, answeredAt: startedAt + 1000, endedAt: startedAt + 61_000, finalStatus: 200,
      }), tariff);
    const old = call('old', now - 100 * DAY);
    const fresh = call('fresh', now - 3_600_000);
    const outcomes = await ledger.chargeBatch('quota', [old, fresh]);
    await ledger.noteActivity('quota', outcomes.map((o) => o.month));
    const months = [...new Set(outcomes.map((o) => o.month))];
    const detail = async (): Promise<string[]> =>
      (await Promise.all(months.map(async (m) => (await h.call('GET', `/v1/tenants/quota/billing/months/${m}/calls?limit=1000`, { key })).json<{ items: { cdrId: string }[] }>().items.map((c) => c.cdrId)))).flat();
    const totals = async (): Promise<number[]> => Promise.all(months.map(async (m) => (await h.call('GET', `/v1/tenants/quota/billing/months/${m}`, { key })).json<{ calls?: number; main?: { calls: number } }>().main?.calls ?? -1));
    expect((await detail()).sort()).toEqual([old.cdrId, fresh.cdrId].sort());
    const before = await totals();

    // The retention job, run now by an operator (it also runs on the api's schedule): retention 62 days (set above).
    expect((await h.call('POST', '/v1/platform/retention/sweep', { key })).statusCode).toBe(403);
    const sweep = await h.call('POST', '/v1/platform/retention/sweep');
    expect(sweep.json()).toMatchObject({ cdrDetailTrimmed: 1 });
    expect(await detail()).toEqual([fresh.cdrId]);
    expect(await totals()).toEqual(before);
    const job = new DataQuotaStore(h.redis, keys, { cdrDetailRetentionDays: 400, ticketsMax: 5000 });
    expect(await job.trimCdrDetail()).toBe(0); // nothing left to trim
  });
});
