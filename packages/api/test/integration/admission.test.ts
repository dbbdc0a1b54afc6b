import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_ADMISSION_POLICY, isAdmissionPlan, planAdmission, type AdmissionPlan } from '@kumo/domain';
import { AdmissionStore, keySchema } from '@kumo/store';
import { harness, type Harness } from './helpers.js';

let h: Harness;
let adminA: string;
let adminB: string;
let store: AdmissionStore;

function plan(source: string): AdmissionPlan {
  const p = planAdmission(
    {
      status: 'active',
      contract: { ports: 100, callsPerSecond: 0, burst: 1, trunkChannels: 10 },
      direction: 'outbound',
      priority: 'normal',
      source,
      restriction: { platform: 0, tenant: 0 },
      sample: 0,
      overloaded: false,
    },
    { ...DEFAULT_ADMISSION_POLICY, flood: { ...DEFAULT_ADMISSION_POLICY.flood, attemptThreshold: 3 } },
  );
  if (!isAdmissionPlan(p)) throw new Error('plan expected');
  return p;
}

beforeAll(async () => {
  h = await harness();
  adminA = await h.tenant('adm-a');
  adminB = await h.tenant('adm-b');
  store = new AdmissionStore(h.redis, keySchema(h.prefix), { leaseTtlMs: 60_000, floodWindowMs: 60_000 });
});
afterAll(async () => {
  await h.close();
});

describe('admission API', () => {
  it('operator sets platform-wide priority numbers; tenant admins may not', async () => {
    const put = await h.call('PUT', '/v1/admission/priority-numbers', { body: { numbers: ['+81312345678', '+81120000000'] } });
    expect(put.statusCode).toBe(200);
    expect(put.json()).toEqual({ numbers: ['+81120000000', '+81312345678'] });
    expect((await h.call('GET', '/v1/admission/priority-numbers')).json()).toEqual({ numbers: ['+81120000000', '+81312345678'] });
    expect((await h.call('PUT', '/v1/admission/priority-numbers', { body: { numbers: ['0312345678'] } })).statusCode).toBe(400);
    expect((await h.call('PUT', '/v1/admission/priority-numbers', { body: { numbers: [], extra: 1 } })).statusCode).toBe(400);
    expect((await h.call('GET', '/v1/admission/priority-numbers', { key: adminA })).statusCode).toBe(403);
    expect([...(await store.priorityNumbersFor('adm-a'))].sort()).toEqual(['+81120000000', '+81312345678']);
    const audit = await h.call('GET', '/v1/platform/audit');
    expect(audit.body).toContain('admission.priority-numbers');
  });

  it("tenant priority numbers: operator writes, the tenant's admin reads", async () => {
    const url = '/v1/tenants/adm-a/admission/priority-numbers';
    expect((await h.call('PUT', url, { key: adminA, body: { numbers: ['9001'] } })).statusCode).toBe(403);
    const put = await h.call('PUT', url, { body: { numbers: ['9001', '+81300000000'] } });
    expect(put.statusCode).toBe(200);
    expect((await h.call('GET', url, { key: adminA })).json()).toEqual({ numbers: ['+81300000000', '9001'] });
    expect((await h.call('GET', url, { key: adminB })).statusCode).toBe(404);
    expect((await h.call('PUT', url, { body: { numbers: ['12345678901'] } })).statusCode).toBe(400);
    expect((await h.call('PUT', url, { body: { numbers: [] } })).json()).toEqual({ numbers: [] });
  });

  it("the tenant's event stream shows a flood throttle, newest first, paged; other tenants cannot read it", async () => {
    for (let i = 0; i < 5; i++) {
      const r = await store.admit('adm-a', `f${i}`, plan('ext:201'));
      if (r.admit) await store.release(r.ticket);
    }
    for (let i = 0; i < 3; i++) await store.appendEvent('adm-a', 'note', { n: String(i) });
    const r = await h.call('GET', '/v1/tenants/adm-a/admission/events?limit=2', { key: adminA });
    expect(r.statusCode).toBe(200);
    const body = r.json<{ items: { id: string; type: string; at: string; fields: Record<string, string> }[]; next: string | null }>();
    expect(body.items.map((e) => e.fields['n'])).toEqual(['2', '1']);
    expect(body.next).toBe(body.items[1]!.id);
    const rest = (await h.call('GET', `/v1/tenants/adm-a/admission/events?before=${body.next}`, { key: adminA })).json<typeof body>();
    const flood = rest.items.find((e) => e.type === 'incomplete-call-flood');
    expect(flood?.fields).toMatchObject({ source: 'ext:201', attempts: '4', completions: '0' });
    expect(new Date(flood!.at).getTime()).toBeGreaterThan(Date.now() - 60_000);
    expect((await h.call('GET', '/v1/tenants/adm-a/admission/events', { key: adminB })).statusCode).toBe(404);
    expect((await h.call('GET', '/v1/tenants/adm-a/admission/events?before=junk', { key: adminA })).statusCode).toBe(400);
  });

  it('usage shows calls in progress against the contract and the restriction levels', async () => {
    await Promise.all(['u1', 'u2', 'u3'].map((c, i) => store.admit('adm-b', c, plan(`ext:30${i}`))));
    await h.call('PUT', '/v1/platform/restriction', { body: { level: 2 } });
    const r = await h.call('GET', '/v1/tenants/adm-b/admission/usage', { key: adminB });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({
      ports: { limit: 100, inUse: 3 },
      trunkChannels: { limit: 10, inUse: 0 },
      trunks: [],
      restriction: { tenant: 0, platform: 2 },
    });
    await h.call('PUT', '/v1/platform/restriction', { body: { level: 0 } });
  });
});
