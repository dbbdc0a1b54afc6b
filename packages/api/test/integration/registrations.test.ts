import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocationStore, keySchema } from '@kumo/store';
import { harness, type Harness } from './helpers.js';

describe('registrations API', () => {
  let h: Harness;
  let adminKey: string;
  let otherKey: string;
  let loc: LocationStore;
  beforeAll(async () => {
    h = await harness();
    adminKey = await h.tenant('regco');
    otherKey = await h.tenant('regother');
    loc = new LocationStore(h.redis, keySchema(h.prefix));
    const src = { address: '203.0.113.5', port: 5062, transport: 'udp' };
    const reg = (extension: string, ids: string[]) =>
      loc.register({
        tenantId: 'regco', extension, callId: `c-${extension}`, cseq: 1, maxContacts: 5, policy: 'reject', mode: 'update',
        updates: ids.map((id) => ({ id, expires: 600, contact: `sip:${extension}@10.0.0.1:${5000 + id.length}`, source: src, userAgent: 'Desk/2', instanceId: `<urn:uuid:${id}>`, regId: 1 })),
      });
    await reg('1001', ['aa', 'bbb']);
    await reg('1002', ['cc']);
  });
  afterAll(() => h.close());

  it('lists a tenant\'s registrations by extension, paged, with counts', async () => {
    const r = await h.call('GET', '/v1/tenants/regco/registrations', { key: adminKey });
    expect(r.statusCode, r.body).toBe(200);
    const body = r.json<{ items: { extension: string; bindings: { id: string; expiresInSec: number; source: unknown }[] }[]; next: string | null; bindings: number }>();
    expect(body.bindings).toBe(3);
    expect(body.next).toBeNull();
    expect(body.items.map((i) => [i.extension, i.bindings.length])).toEqual([['1001', 2], ['1002', 1]]);
    expect(body.items[0]!.bindings[0]).toMatchObject({ source: { address: '203.0.113.5', port: 5062, transport: 'udp' }, userAgent: 'Desk/2', regId: 1 });
    expect(body.items[0]!.bindings[0]!.expiresInSec).toBeGreaterThan(590);
    const p1 = await h.call('GET', '/v1/tenants/regco/registrations?limit=1', { key: adminKey });
    expect(p1.json()).toMatchObject({ next: '1001' });
    const p2 = await h.call('GET', '/v1/tenants/regco/registrations?limit=1&after=1001', { key: adminKey });
    expect(p2.json<{ items: { extension: string }[] }>().items.map((i) => i.extension)).toEqual(['1002']);
  });

  it('shows one extension and is invisible to other tenants', async () => {
    const r = await h.call('GET', '/v1/tenants/regco/registrations/1001', { key: adminKey });
    expect(r.json<{ bindings: unknown[] }>().bindings).toHaveLength(2);
    expect((await h.call('GET', '/v1/tenants/regco/registrations/1001', { key: otherKey })).statusCode).toBe(404);
    expect((await h.call('GET', '/v1/tenants/regco/registrations/1999', { key: adminKey })).json()).toEqual({ extension: '1999', bindings: [] });
  });

  it('force-unregisters one device, then a whole extension; operators see counts', async () => {
    expect((await h.call('DELETE', '/v1/tenants/regco/registrations/1001/aa', { key: adminKey })).statusCode).toBe(204);
    expect((await h.call('DELETE', '/v1/tenants/regco/registrations/1001/aa', { key: adminKey })).statusCode).toBe(404);
    expect(await loc.contactsFor('regco', '1001')).toHaveLength(1);
    const counts = await h.call('GET', '/v1/registrations/counts');
    expect(counts.statusCode, counts.body).toBe(200);
    expect(counts.json<{ items: { tenantId: string; bindings: number }[] }>().items).toEqual(
      expect.arrayContaining([{ tenantId: 'regco', bindings: 2 }, { tenantId: 'regother', bindings: 0 }]),
    );
    expect((await h.call('GET', '/v1/registrations/counts', { key: adminKey })).statusCode).toBe(403);
    const del = await h.call('DELETE', '/v1/tenants/regco/registrations/1002', { key: adminKey });
    expect(del.json()).toEqual({ removed: 1 });
    expect(await loc.countBindings('regco')).toBe(1);
    const audit = await h.call('GET', '/v1/tenants/regco/audit', { key: adminKey });
    expect(audit.body).toContain('registration.delete');
  });
});
