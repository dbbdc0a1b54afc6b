import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { harness, type Harness } from './helpers.js';

let h: Harness;
let acmeKey: string;
let otherKey: string;

beforeAll(async () => {
  h = await harness();
  acmeKey = await h.tenant('acme');
  otherKey = await h.tenant('other');
});
afterAll(() => h.close());

type T = { id: string; state: string; channel: string; assignee: string | null; incidentIds: string[]; resolvedAt: string | null; closedAt: string | null; notes: { text: string; by: string }[] };

describe('help desk tickets', () => {
  it('tenant admins open web tickets and see only their own; operators see all and work them', async () => {
    const r = await h.call('POST', '/v1/tenants/acme/tickets', { key: acmeKey, body: { kind: 'fault', subject: '外線が発信できない', body: '10時頃から', reportedBy: '総務 山田' } });
    expect(r.statusCode).toBe(201);
    const t = r.json<T>();
    expect(t).toMatchObject({ state: 'new', channel: 'web', assignee: null });
    expect((await h.call('POST', '/v1/tenants/acme/tickets', { key: acmeKey, body: { kind: 'inquiry', channel: 'phone', subject: 's', body: '', reportedBy: 'x' } })).statusCode).toBe(403);

    const phone = await h.call('POST', '/v1/tenants/acme/tickets', { body: { kind: 'change', channel: 'phone', subject: '内線追加', body: '', reportedBy: '03-1234-5678', assignee: 'sato' } });
    expect(phone.json<T>()).toMatchObject({ channel: 'phone', assignee: 'sato' });

    expect((await h.call('GET', '/v1/tenants/acme/tickets', { key: acmeKey })).json<{ items: T[] }>().items).toHaveLength(2);
    expect((await h.call('GET', '/v1/tenants/other/tickets', { key: otherKey })).json<{ items: T[] }>().items).toHaveLength(0);
    expect((await h.call('GET', `/v1/tenants/acme/tickets/${t.id}`, { key: otherKey })).statusCode).toBe(404);
    expect((await h.call('GET', `/v1/tenants/other/tickets/${t.id}`, { key: otherKey })).statusCode).toBe(404);
    const all = (await h.call('GET', '/v1/ops/tickets')).json<{ items: T[] }>().items;
    expect(all.map((x) => x.id)).toEqual(expect.arrayContaining([t.id, phone.json<T>().id]));
    expect((await h.call('GET', '/v1/ops/tickets', { key: acmeKey })).statusCode).toBe(403);

    const worked = await h.call('PATCH', `/v1/tenants/acme/tickets/${t.id}`, { body: { state: 'in-progress', assignee: 'suzuki', incidentIds: ['INC-000001'], note: 'carrier contacted' } });
    expect(worked.json<T>()).toMatchObject({ state: 'in-progress', assignee: 'suzuki', incidentIds: ['INC-000001'] });
    expect((await h.call('PATCH', `/v1/tenants/acme/tickets/${t.id}`, { key: acmeKey, body: { assignee: 'me' } })).statusCode).toBe(403);
    expect((await h.call('PATCH', `/v1/tenants/acme/tickets/${t.id}`, { key: acmeKey, body: { state: 'closed' } })).statusCode).toBe(403);
    const noted = await h.call('PATCH', `/v1/tenants/acme/tickets/${t.id}`, { key: acmeKey, body: { note: '復旧を確認しました' } });
    expect(noted.json<T>().notes.map((n) => n.text)).toEqual(['carrier contacted', '復旧を確認しました']);
    const resolved = (await h.call('PATCH', `/v1/tenants/acme/tickets/${t.id}`, { body: { state: 'resolved' } })).json<T>();
    expect(resolved.resolvedAt).not.toBeNull();
    const closed = (await h.call('PATCH', `/v1/tenants/acme/tickets/${t.id}`, { key: acmeKey, body: { state: 'closed' } })).json<T>();
    expect(closed).toMatchObject({ state: 'closed' });
    expect(closed.closedAt).not.toBeNull();
    expect((await h.call('PATCH', `/v1/tenants/acme/tickets/${t.id}`, { body: { state: 'in-progress' } })).statusCode).toBe(400);
  });
});

describe('maintenance works', () => {
  it('operators schedule works; affected tenants read them with the notice', async () => {
    const body = {
      title: '収容装置ソフトウェア更新', windowStart: '2026-12-20T16:00:00Z', windowEnd: '2026-12-20T18:00:00Z', impact: 'partial', tenants: ['acme'],
      notice: { ja: '12月21日 1:00〜3:00 に工事を行います。', en: 'Maintenance on 21 Dec 01:00-03:00 JST.' },
    };
    const r = await h.call('POST', '/v1/ops/works', { body });
    expect(r.statusCode).toBe(201);
    const w = r.json<{ id: string; state: string }>();
    expect(w.state).toBe('scheduled');
    expect((await h.call('POST', '/v1/ops/works', { key: acmeKey, body })).statusCode).toBe(403);
    expect((await h.call('POST', '/v1/ops/works', { body: { ...body, windowEnd: body.windowStart } })).statusCode).toBe(400);
    const mine = (await h.call('GET', '/v1/tenants/acme/works', { key: acmeKey })).json<{ items: { id: string; notice: { ja: string } }[] }>().items;
    expect(mine).toEqual([expect.objectContaining({ id: w.id, notice: expect.objectContaining({ ja: body.notice.ja }) })]);
    expect((await h.call('GET', '/v1/tenants/other/works', { key: otherKey })).json<{ items: unknown[] }>().items).toHaveLength(0);
    expect((await h.call('PATCH', `/v1/ops/works/${w.id}`, { body: { state: 'completed' } })).json()).toMatchObject({ state: 'completed' });
    expect((await h.call('PATCH', `/v1/ops/works/${w.id}`, { body: { state: 'scheduled' } })).statusCode).toBe(400);
  });
});
