/**
 * The branch agent against a real cloud API (in-process fastify on a real socket) and real Redis:
 * the snapshot lands in the branch's keys exactly as the sip app reads them; a tampered, stale or
 * foreign snapshot is refused and changes nothing; a revoked credential gets nothing; the keep-alive
 * drives the state machine; CDRs are forwarded once and deleted only when the cloud took them.
 */
import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApp, createOperatorKey } from '@kumo/api';
import { BranchAgent } from '@kumo/branch';
import { createLogger } from '@kumo/runtime';
import { DirectoryRepo, createRedis, keySchema, signSnapshot, type RedisClient, type SignedSnapshot, type SnapshotPayload } from '@kumo/store';
import { uniquePrefix } from '@kumo/testkit';

const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const cloudKeys = keySchema(uniquePrefix('brc'));
const branchKeys = keySchema(uniquePrefix('brb'));
const T = 'agentt';
let app: FastifyInstance;
let cloud: RedisClient;
let local: RedisClient;
let url = '';
let op = '';
let cred = '';
const log = createLogger({ name: 'branch-test', level: 'silent' });

async function api(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const r = await app.inject({ method: method as 'GET', url: path, headers: { authorization: `Bearer ${op}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, ...(body !== undefined ? { payload: JSON.stringify(body) } : {}) });
  if (r.statusCode >= 400) throw new Error(`${method} ${path}: ${r.statusCode} ${r.body}`);
  return { status: r.statusCode, json: r.body === '' ? null : r.json() };
}

function agent(o: { credential?: string; cloudUrl?: string } = {}): BranchAgent {
  return new BranchAgent({
    redis: local,
    keys: branchKeys,
    log,
    cloudUrl: o.cloudUrl ?? url,
    credential: o.credential ?? cred,
    publicKey,
    keepaliveMs: 300,
    lossThreshold: 2,
    pollWaitS: 1,
    cdrBatch: 2,
    cdrShards: 1,
  });
}

beforeAll(async () => {
  cloud = createRedis(inject('redisUrl'));
  local = createRedis(inject('redisUrl'));
  app = await buildApp({ redis: cloud, keys: cloudKeys, branchSigningKey: privateKey, cdrShards: 1 });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const a = app.server.address();
  url = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
  ({ key: op } = await createOperatorKey({ redis: cloud, keys: cloudKeys }, 'op'));
  await api('POST', '/v1/tenants', { id: T, name: 'Agent', sipDomain: 'agent.kumo.test', ports: 100, trunkChannels: 10, callsPerSecond: 5 });
  await api('PUT', `/v1/tenants/${T}/grants`, { gateways: ['192.0.2.20'], numbers: ['+81312345678'] });
  for (const n of ['2001', '2002']) await api('POST', `/v1/tenants/${T}/extensions`, { number: n, displayName: `E${n}`, password: `pw${n}-secret` });
  await api('POST', `/v1/tenants/${T}/trunks`, { id: 'line', name: 'Line', channelLimit: 2, numberFormat: 'national', callerId: '+81312345678', emergency: true, gateways: [{ host: '192.0.2.20', port: 5060, transport: 'udp', priority: 1 }] });
  await api('POST', `/v1/tenants/${T}/sites`, { id: 'hq', name: 'HQ', extensions: ['2001'], trunkId: 'line' });
  cred = ((await api('POST', `/v1/tenants/${T}/sites/hq/credential`)).json as { credential: string }).credential;
});
afterAll(async () => {
  await app.close();
  cloud.disconnect();
  local.disconnect();
});

describe('branch agent', () => {
  it('loads the signed snapshot into the keys the sip app reads; refuses tampered, stale and foreign ones', async () => {
    const a = agent();
    await a.fetchSnapshot(0);
    const v1 = a.view().snapshotVersion;
    expect(v1).toBeGreaterThan(0);
    const dir = new DirectoryRepo(local, branchKeys);
    expect((await dir.tenantByDomain('agent.kumo.test'))?.id).toBe(T);
    expect((await dir.extension(T, '2001'))?.ha1Md5).toMatch(/^[0-9a-f]{32}$/);
    expect(await dir.extension(T, '2002')).toBeNull();
    expect((await dir.trunksAtSource('192.0.2.20', 5060, 'udp')).map((m) => m.trunk.id)).toEqual(['line']);
    expect(await dir.numberKind(T, '2001')).toBe('extension');

    const held = JSON.parse((await local.get(branchKeys.global.branchSnapshot())) as string) as SignedSnapshot;
    const payload = JSON.parse(held.payload) as SnapshotPayload;
    // Tampered: a bigger version and an extra extension, signature of the original → refused, nothing changes.
    const tampered = { payload: JSON.stringify({ ...payload, version: v1 + 5, config: { ...payload.config, extensions: [...payload.config.extensions, { ...payload.config.extensions[0], number: '2999' }] } }), signature: held.signature };
    expect(await a.accept(tampered)).toEqual({ ok: false, reason: 'bad-signature' });
    // Signed by another key.
    const rogue = generateKeyPairSync('ed25519').privateKey;
    expect(await a.accept(signSnapshot({ ...payload, version: v1 + 1 }, rogue))).toEqual({ ok: false, reason: 'bad-signature' });
    // Stale: correctly signed, but older than what the branch holds.
    expect(await a.accept(signSnapshot({ ...payload, version: v1 - 1 }, privateKey))).toEqual({ ok: false, reason: 'stale' });
    // Another site's snapshot.
    expect(await a.accept(signSnapshot({ ...payload, siteId: 'elsewhere', version: v1 + 1 }, privateKey))).toEqual({ ok: false, reason: 'wrong-site' });
    expect(a.view()).toMatchObject({ snapshotVersion: v1, refused: 4 });
    expect(await dir.extension(T, '2999')).toBeNull();

    // A change in the cloud arrives with the next poll, with a higher version.
    await api('PUT', `/v1/tenants/${T}/sites/hq`, { name: 'HQ', extensions: ['2001', '2002'], trunkId: 'line' });
    await a.fetchSnapshot(0);
    expect(a.view().snapshotVersion).toBe(v1 + 1);
    expect((await dir.extension(T, '2002'))?.number).toBe('2002');
    // Shrinking the site removes what the branch no longer serves.
    await api('PUT', `/v1/tenants/${T}/sites/hq`, { name: 'HQ', extensions: ['2001'], trunkId: 'line' });
    await a.fetchSnapshot(0);
    expect(await dir.extension(T, '2002')).toBeNull();
    await a.close();
  });

  it('keep-alive state machine and CDR forwarding: alone on loss, hands back, forwards each CDR once', async () => {
    const stream = branchKeys.global.cdrStream(0);
    for (let i = 0; i < 5; i++) await local.xadd(stream, '*', 'cdr', JSON.stringify({ cdrId: `cdr-agent-${i}`, tenantId: T, callIdA: `c${i}` }));
    // A branch pointed at a dead address: serves alone after `lossThreshold` keep-alives.
    const dead = agent({ cloudUrl: 'http://127.0.0.1:9' });
    await dead.start();
    await waitFor(() => dead.view().state === 'serving-alone', 5000);
    expect(dead.view().cdrBacklog).toBe(5);
    expect(await local.xlen(stream)).toBe(5);
    await dead.close();

    const a = agent();
    await a.start();
    await waitFor(() => a.view().state === 'in-sync' && a.view().cdrBacklog === 0, 8000);
    await a.close();
    expect(await local.xlen(stream)).toBe(0);
    const cloudCdrs = (await cloud.xrange(cloudKeys.global.cdrStream(0), '-', '+')).map(([, f]) => (JSON.parse(f[1] as string) as { cdrId: string }).cdrId);
    expect(cloudCdrs.sort()).toEqual([0, 1, 2, 3, 4].map((i) => `cdr-agent-${i}`));
  });

  it('a revoked credential gets nothing: no snapshot, keep-alives fail', async () => {
    await api('DELETE', `/v1/tenants/${T}/sites/hq/credential`);
    const a = agent();
    const before = a.view().snapshotVersion;
    await a.fetchSnapshot(0);
    expect(a.view().snapshotVersion).toBe(before);
    const r = await fetch(`${url}/v1/branch/snapshot`, { headers: { authorization: `Bearer ${cred}` } });
    expect(r.status).toBe(401);
    await a.close();
  });
});

async function waitFor(cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}
