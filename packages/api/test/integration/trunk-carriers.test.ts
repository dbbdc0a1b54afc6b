/** Trunk roles and gateway identity through the API (issue 12 item 9). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatewayHealthStore, keySchema } from '@kumo/store';
import { harness, type Harness } from './helpers.js';

let h: Harness;
let key: string;

beforeAll(async () => {
  h = await harness();
  key = await h.tenant('carriers-api');
  // Carrier gateways are the operator's to assign (docs/security.md).
  const g = await h.call('PUT', '/v1/tenants/carriers-api/grants', { body: { gateways: ['198.51.100.20', '198.51.100.21', '198.51.100.22', '198.51.100.23', '198.51.100.40'] } });
  if (g.statusCode !== 200) throw new Error(g.body);
});
afterAll(() => h.close());

const t = (path: string) => `/v1/tenants/carriers-api${path}`;

describe('trunks: roles and gateway identity', () => {
  it('roles are explicit (default ordinary); the old emergency flag means both; both are returned', async () => {
    const plain = await h.call('POST', t('/trunks'), { key, body: { id: 'main', name: 'Main', gateways: [{ host: '198.51.100.20' }], channelLimit: 2 } });
    expect(plain.statusCode).toBe(201);
    expect(plain.json()).toMatchObject({ roles: ['ordinary'], emergency: false });
    const sos = await h.call('POST', t('/trunks'), { key, body: { id: 'sos', name: 'SOS', gateways: [{ host: '198.51.100.21' }], channelLimit: 2, roles: ['emergency'] } });
    expect(sos.json()).toMatchObject({ roles: ['emergency'], emergency: true });
    const flag = await h.call('POST', t('/trunks'), { key, body: { id: 'flag', name: 'Flag', gateways: [{ host: '198.51.100.22' }], channelLimit: 2, emergency: true } });
    expect(flag.json()).toMatchObject({ roles: ['ordinary', 'emergency'], emergency: true });
    const bad = await h.call('POST', t('/trunks'), { key, body: { id: 'bad', name: 'Bad', gateways: [{ host: '198.51.100.23' }], channelLimit: 2, roles: [] } });
    expect(bad.statusCode).toBe(400);
  });

  it('a second trunk to the same carrier IP on another port is accepted; the same gateway twice is 409', async () => {
    const second = await h.call('POST', t('/trunks'), { key, body: { id: 'main-5080', name: 'Main 5080', gateways: [{ host: '198.51.100.20', port: 5080 }], channelLimit: 2 } });
    expect(second.statusCode).toBe(201);
    const dupBody = { id: 'dup', name: 'Dup', gateways: [{ host: '198.51.100.20', port: 5080 }], channelLimit: 2 };
    expect((await h.call('POST', t('/trunks'), { body: dupBody })).statusCode).toBe(409);
    // A tenant admin is told only that the gateway is not available (docs/security.md: no other trunk or tenant is revealed).
    expect((await h.call('POST', t('/trunks'), { key, body: dupBody })).json().code).toBe('KUMO_ERR_NOT_ASSIGNED');
  });

  it('status: each gateway up, down (from the sip process’s OPTIONS pings) or unknown', async () => {
    const health = new GatewayHealthStore(h.redis, keySchema(h.prefix));
    await health.record('udp|198.51.100.20|5080', false, undefined, Date.parse('2026-01-01T00:00:00Z'), 1);
    const r = await h.call('GET', t('/trunks/main-5080/status'), { key });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({
      id: 'main-5080',
      gateways: [
        { host: '198.51.100.20', port: 5080, transport: 'udp', state: 'down', since: '2026-01-01T00:00:00.000Z', lastPingAt: '2026-01-01T00:00:00.000Z', failures: 1 },
      ],
    });
    expect((await h.call('GET', t('/trunks/main/status'), { key })).json()).toMatchObject({ gateways: [{ state: 'unknown' }] });
    expect((await h.call('GET', t('/trunks/nope/status'), { key })).statusCode).toBe(404);
  });

  it('status of a registration-based trunk: its registration state; the password is never returned', async () => {
    const c = await h.call('POST', t('/trunks'), {
      key,
      body: { id: 'reg', name: 'Reg', gateways: [{ host: '198.51.100.40' }], channelLimit: 1, registration: { username: 'u9', password: 'never-shown' } },
    });
    expect(c.statusCode).toBe(201);
    expect(c.body).not.toContain('never-shown');
    expect((await h.call('GET', t('/trunks/reg/status'), { key })).json()).toMatchObject({ registration: { state: 'unregistered' } });
    expect((await h.call('GET', t('/trunks/reg'), { key })).body).not.toContain('never-shown');
  });
});
