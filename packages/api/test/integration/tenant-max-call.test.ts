/**
 * A tenant's maximum call duration (issue 11, docs/reliability.md): the operator sets it per tenant;
 * unset, the platform's KUMO_SIP_MAX_CALL_S applies (the call path takes `maxCallMsFor`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { harness, type Harness } from './helpers.js';

let h: Harness;
let key: string;

beforeAll(async () => {
  h = await harness();
  key = await h.tenant('maxcall');
});
afterAll(() => h.close());

describe('tenant maxCallSeconds', () => {
  it('is unset by default, set by the operator, refused out of range, and null goes back to the platform’s', async () => {
    const T = '/v1/tenants/maxcall';
    expect((await h.call('GET', T)).json()).not.toHaveProperty('maxCallSeconds');
    const set = await h.call('PATCH', T, { body: { maxCallSeconds: 7200 } });
    expect([set.statusCode, set.json().maxCallSeconds]).toEqual([200, 7200]);
    const low = await h.call('PATCH', T, { body: { maxCallSeconds: 30 } });
    expect([low.statusCode, low.json().code, low.json().details.problems[0].field]).toEqual([400, 'KUMO_ERR_VALIDATION', 'maxCallSeconds']);
    // Tenant admins do not change their own contract.
    expect((await h.call('PATCH', T, { key, body: { maxCallSeconds: 600 } })).statusCode).toBe(403);
    const cleared = await h.call('PATCH', T, { body: { maxCallSeconds: null } });
    expect(cleared.statusCode).toBe(200);
    expect(cleared.json()).not.toHaveProperty('maxCallSeconds');
  });
});
