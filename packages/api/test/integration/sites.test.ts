import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApp, createOperatorKey } from '@kumo/api';
import { createRedis, keySchema, loadVerifyKey, verifySnapshot, type RedisClient, type SignedSnapshot } from '@kumo/store';
import { uniquePrefix } from '@kumo/testkit';
import { TEST_GRANTS } from './helpers.js';

const { privateKey, publicKey } = generateKeyPairSync('ed25519');
let app: FastifyInstance;
let redis: RedisClient;
let op: string;
const keys = keySchema(uniquePrefix('sites'));
const T = 'site1';

async function ok(p: Promise<{ statusCode: number; body: string }>, status: number): Promise<void> {
  const r = await p;
  expect(r.statusCode, r.body).toBe(status);
}

async function call(method: string, url: string, o: { key?: string | null; body?: unknown; headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { ...(o.headers ?? {}) };
  const key = o.key === undefined ? op : o.key;
  if (key !== null) headers.authorization = `Bearer ${key}`;
  if (o.body !== undefined) headers['content-type'] = 'application/json';
  return app.inject({ method: method as 'GET', url, headers, ...(o.body !== undefined ? { payload: JSON.stringify(o.body) } : {}) });
}

beforeAll(async () => {
  redis = createRedis(inject('redisUrl'));
  app = await buildApp({ redis, keys, branchSigningKey: privateKey, cdrShards: 1 });
  ({ key: op } = await createOperatorKey({ redis, keys }, 'op'));
  await ok(call('POST', '/v1/tenants', { body: { id: T, name: 'Site test', sipDomain: 'site1.kumo.test', ports: 100, trunkChannels: 10, callsPerSecond: 5 } }), 201);
  await ok(call('PUT', `/v1/tenants/${T}/grants`, { body: { ...TEST_GRANTS, gateways: ['192.0.2.10'] } }), 200);
  for (const n of ['1001', '1002', '1003']) {
    await ok(call('POST', `/v1/tenants/${T}/extensions`, { body: { number: n, displayName: `E${n}`, password: `pw${n}-secret` } }), 201);
  }
  await ok(call('POST', `/v1/tenants/${T}/ring-groups`, { body: { number: '600', name: 'Desk', strategy: 'ring-all', members: [{ extension: '1001' }, { extension: '1002' }], totalTimeoutSec: 20 } }), 201);
  const tr = await call('POST', `/v1/tenants/${T}/trunks`, {
    body: { id: 'local', name: 'Local line', channelLimit: 4, numberFormat: 'national', callerId: '+81312345678', emergency: true, gateways: [{ host: '192.0.2.10', port: 5060, transport: 'udp', priority: 1 }] },
  });
  expect(tr.statusCode, tr.body).toBe(201);
});
afterAll(async () => {
  await app.close();
  redis.disconnect();
});

describe('sites and branch snapshots (docs/branch.md)', () => {
  let cred = '';
  it('creates a site (unknown references refused) and issues a credential once', async () => {
    const bad = await call('POST', `/v1/tenants/${T}/sites`, { body: { id: 'osaka', name: 'Osaka', extensions: ['1001', '1999'], trunkId: 'local' } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().code).toBe('KUMO_ERR_UNKNOWN_REFERENCE');
    const r = await call('POST', `/v1/tenants/${T}/sites`, { body: { id: 'osaka', name: 'Osaka', extensions: ['1001', '1002'], ringGroups: ['600'], trunkId: 'local' } });
    expect(r.statusCode, r.body).toBe(201);
    expect(r.json()).toMatchObject({ id: 'osaka', credentialIssued: false, branch: { state: 'never-reported' } });
    const c = await call('POST', `/v1/tenants/${T}/sites/osaka/credential`);
    expect(c.statusCode).toBe(201);
    cred = c.json<{ credential: string }>().credential;
    expect(cred).toMatch(/^kbr_/);
    // Stored hashed: the credential itself is nowhere in Redis.
    const stored = await redis.hgetall(keys.global.branchCredentials());
    expect(Object.keys(stored)).toHaveLength(1);
    expect(JSON.stringify(stored)).not.toContain(cred.slice(18));
    // API keys do not work as site credentials and vice versa.
    await ok(call('GET', '/v1/branch/snapshot', { key: op }), 401);
    await ok(call('GET', `/v1/tenants/${T}/sites`, { key: cred }), 401);
  });

  it('serves a signed snapshot of the site only, with a monotonic version and conditional fetch', async () => {
    const r = await call('GET', '/v1/branch/snapshot', { key: cred });
    expect(r.statusCode, r.body).toBe(200);
    const etag = r.headers.etag as string;
    const s = r.json<SignedSnapshot>();
    const key = loadVerifyKey(publicKey.export({ format: 'der', type: 'spki' }).toString('base64'));
    const v = verifySnapshot(s, key, { tenantId: T, siteId: 'osaka', heldVersion: 0 });
    expect(v.ok).toBe(true);
    if (!v.ok) return;
    expect(v.payload.config.extensions.map((e) => e.number)).toEqual(['1001', '1002']);
    expect(v.payload.config.extensions[0]?.ha1Md5).toMatch(/^[0-9a-f]{32}$/);
    expect(v.payload.config.ringGroups.map((g) => g.number)).toEqual(['600']);
    expect(v.payload.config.trunks.map((t) => t.id)).toEqual(['local']);
    expect(v.payload.config.numbers['1003']).toBeUndefined();
    // Unchanged: 304 at once without wait.
    await ok(call('GET', '/v1/branch/snapshot', { key: cred, headers: { 'if-none-match': etag } }), 304);
    // Long-poll: a change made while the branch waits answers the wait with the new version.
    const waiting = call('GET', '/v1/branch/snapshot?wait=10', { key: cred, headers: { 'if-none-match': etag } });
    await new Promise((res) => setTimeout(res, 300));
    const t0 = Date.now();
    await ok(call('PATCH', `/v1/tenants/${T}/sites/osaka`, { body: { extensions: ['1001', '1002', '1003'] } }), 200);
    const next = await waiting;
    expect(next.statusCode).toBe(200);
    expect(Date.now() - t0).toBeLessThan(3000);
    const v2 = verifySnapshot(next.json(), key, { tenantId: T, siteId: 'osaka', heldVersion: v.payload.version });
    expect(v2.ok && v2.payload.version).toBe(v.payload.version + 1);
    if (!v2.ok) return;
    expect(v2.payload.config.extensions.map((e) => e.number)).toEqual(['1001', '1002', '1003']);
    // Tampered: one byte of the payload changed → refused; the old one is stale for a branch holding v2.
    const tampered = { ...s, payload: s.payload.replace('"1001"', '"1009"') };
    expect(verifySnapshot(tampered, key, { heldVersion: 0 })).toEqual({ ok: false, reason: 'bad-signature' });
    expect(verifySnapshot(s, key, { heldVersion: v2.payload.version })).toEqual({ ok: false, reason: 'stale' });
    const other = generateKeyPairSync('ed25519').publicKey;
    expect(verifySnapshot(s, other, { heldVersion: 0 })).toEqual({ ok: false, reason: 'bad-signature' });
  });

  it('takes keep-alive reports, shows them to the tenant and operators, counts service periods', async () => {
    const rep = (state: string) => call('POST', '/v1/branch/status', { key: cred, body: { state, snapshotVersion: 2, cdrBacklog: state === 'in-sync' ? 0 : 3, aloneSince: state === 'in-sync' ? null : '2026-01-01T00:00:00.000Z' } });
    expect((await rep('serving-alone')).statusCode).toBe(200);
    expect((await call('GET', `/v1/tenants/${T}/sites/osaka`)).json().branch).toMatchObject({ state: 'serving-alone', cdrBacklog: 3 });
    const metrics = (await call('GET', '/metrics', { key: null })).body;
    expect(metrics).toMatch(/kumo_branch_sites\{state="serving-alone"\} 1/);
    expect((await rep('handing-back')).statusCode).toBe(200);
    expect((await rep('in-sync')).statusCode).toBe(200);
    const site = (await call('GET', `/v1/tenants/${T}/sites/osaka`)).json();
    expect(site.branch.state).toBe('in-sync');
    expect(site.servicePeriods).toHaveLength(1);
    expect(site.servicePeriods[0].from).toBe('2026-01-01T00:00:00.000Z');
    // The monthly operation report counts the period (it ended this month).
    const report = (await call('GET', `/v1/tenants/${T}/reports/current`)).json();
    expect(report.branchPeriods).toEqual([expect.objectContaining({ siteId: 'osaka', from: '2026-01-01T00:00:00.000Z' })]);
    // A late report (sent during a cut, delivered after the link returned) is older than the last one: ignored.
    await ok(call('POST', '/v1/branch/status', { key: cred, body: { state: 'in-sync', snapshotVersion: 2, cdrBacklog: 0, seq: 1000 } }), 200);
    await ok(call('POST', '/v1/branch/status', { key: cred, body: { state: 'serving-alone', snapshotVersion: 2, cdrBacklog: 1, seq: 999 } }), 200);
    expect((await call('GET', `/v1/tenants/${T}/sites/osaka`)).json().branch.state).toBe('in-sync');
    const ops = (await call('GET', '/v1/branch-sites')).json();
    expect(ops).toEqual([expect.objectContaining({ tenantId: T, siteId: 'osaka', state: 'in-sync' })]);
    expect((await call('GET', '/v1/branch-signing-key')).json().publicKey).toBe(publicKey.export({ format: 'der', type: 'spki' }).toString('base64'));
  });

  it('accepts forwarded CDRs of its own tenant only', async () => {
    const cdr = { cdrId: 'cdr-test-1', tenantId: T, callIdA: 'x' };
    expect((await call('POST', '/v1/branch/cdrs', { key: cred, body: { cdrs: [{ ...cdr, tenantId: 'other' }] } })).json().code).toBe('KUMO_ERR_BRANCH_FOREIGN_CDR');
    const ok = await call('POST', '/v1/branch/cdrs', { key: cred, body: { cdrs: [cdr] } });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json()).toEqual({ accepted: 1 });
  });

  it('a re-issued credential replaces the old one; a revoked credential gets 401 everywhere', async () => {
    const old = cred;
    cred = (await call('POST', `/v1/tenants/${T}/sites/osaka/credential`)).json<{ credential: string }>().credential;
    expect((await call('GET', '/v1/branch/snapshot', { key: old })).statusCode).toBe(401);
    expect((await call('GET', '/v1/branch/snapshot', { key: cred })).statusCode).toBe(200);
    expect(Object.keys(await redis.hgetall(keys.global.branchCredentials()))).toHaveLength(1);
    await ok(call('DELETE', `/v1/tenants/${T}/sites/osaka/credential`), 204);
    for (const [m, u, body] of [['GET', '/v1/branch/snapshot', undefined], ['POST', '/v1/branch/status', { state: 'in-sync', snapshotVersion: 1, cdrBacklog: 0 }], ['POST', '/v1/branch/cdrs', { cdrs: [] }]] as const) {
      const r = await call(m, u, { key: cred, ...(body ? { body } : {}) });
      expect(r.statusCode, u).toBe(401);
      expect(r.json().code).toBe('KUMO_ERR_UNAUTHORIZED');
    }
    expect(await redis.hlen(keys.global.branchCredentials())).toBe(0);
    // Every site change and credential issue / revocation is in the tenant's audit chain, never the credential.
    const audit = (await call('GET', `/v1/tenants/${T}/audit?limit=200`)).body;
    for (const action of ['site.create', 'site.update', 'site.credential.issue', 'site.credential.revoke']) expect(audit).toContain(`"${action}"`);
    expect(audit).not.toContain(cred.slice(18));
    expect(audit).not.toContain('credentialHash');
  });
});
