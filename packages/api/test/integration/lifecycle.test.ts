/**
 * Tenant data lifecycle (Articles 37/38, docs/security.md): create a tenant, use it the way the
 * sip, billing and api processes do (registrations, admission, hunt state, brute-force guard,
 * CDRs, charges, dead letters, audit), terminate, purge, then scan the WHOLE keyspace: no key of
 * the tenant and no global index entry naming it is left, except the operator-only retention
 * set and the platform audit record of the purge. Re-created, the id starts empty.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCdr, rateCdr, type Cdr } from '@kumo/domain';
import {
  AdmissionStore,
  AuthGuardStore,
  BillingLedger,
  CdrStreams,
  HuntStateStore,
  LocationStore,
  TenantDataLifecycle,
  keySchema,
  type KeySchema,
} from '@kumo/store';
import { harness, type Harness } from './helpers.js';

const GONE = 'gone-x9q';
const KEEP = 'keep-x9q';

let h: Harness;
let keys: KeySchema;

function cdr(tenantId: string, i: number): Cdr {
  const t = Date.now() - 60_000 - i * 1000;
  return buildCdr({
    tenantId,
    aLegCallId: `life-${tenantId}-${i}`,
    aLegFromTag: 'f',
    direction: 'outbound',
    caller: { dialled: '1001', extension: '1001', department: 'Sales' },
    callee: { dialled: '0312345678' },
    trunkId: 'main',
    startedAt: t,
    answeredAt: t,
    endedAt: t + 30_000,
    finalStatus: 200,
  });
}

/** Provisions and uses a tenant through the API and the stores the other processes use. */
async function populate(id: string): Promise<string> {
  const key = await h.tenant(id, { notes: 'internal' });
  const ok = async (m: string, url: string, body?: unknown, k: string | null = key) => {
    const r = await h.call(m, url, { key: k, ...(body !== undefined ? { body } : {}) });
    expect(r.statusCode, `${m} ${url} ${r.body}`).toBeLessThan(300);
  };
  await ok('POST', `/v1/tenants/${id}/extensions`, { number: '1001', displayName: 'A', password: 'pass10001' });
  await ok('POST', `/v1/tenants/${id}/extensions`, { number: '1002', displayName: 'B', password: 'pass10002' });
  await ok('POST', `/v1/tenants/${id}/ring-groups`, { number: '2001', name: 'G', strategy: 'ring-all', members: [{ extension: '1001' }] });
  await ok('POST', `/v1/tenants/${id}/pickup-groups`, { id: 'pg1', name: 'P', members: ['1001'] });
  const octet = id === GONE ? 10 : 11;
  await ok('POST', `/v1/tenants/${id}/trunks`, { id: 'main', name: 'Main', gateways: [{ host: `192.0.2.${octet}` }], channelLimit: 5 }, h.operatorKey);
  await ok('POST', `/v1/tenants/${id}/dids`, { number: `+8150000000${octet}`, target: { type: 'extension', number: '1001' } }, h.operatorKey);
  await ok('PUT', `/v1/tenants/${id}/admission/priority-numbers`, { numbers: ['+81312345678'] }, h.operatorKey);
  await ok('PUT', `/v1/tenants/${id}/billing/tariff`, { classes: { mobile: { unitSeconds: 30, unitPrice: 500 } } }, h.operatorKey);

  const loc = new LocationStore(h.redis, keys);
  const reg = await loc.register({
    tenantId: id, extension: '1001', callId: 'c1', cseq: 1, maxContacts: 3, policy: 'replace-oldest', mode: 'update',
    updates: [{ id: 'b1', expires: 3600, contact: 'sip:1001@192.0.2.50:5060', source: { address: '192.0.2.50', port: 5060, transport: 'udp' }, userAgent: 'T/1' }],
  });
  expect(reg.kind).toBe('ok');
  await new AuthGuardStore(h.redis, keys).recordFailure({ kind: 'aor', tenantId: id, extension: '1002' }, { windowMs: 60_000, threshold: 10, blockMs: 60_000 });
  const adm = new AdmissionStore(h.redis, keys, { leaseTtlMs: 120_000, floodWindowMs: 60_000 });
  const admitted = await adm.admit(id, 'call-1', {
    priority: 'normal', portLimit: 100, trunk: { trunkId: 'main', limit: 5, tenantLimit: 10 }, rate: { perSecond: 5, burst: 5 },
    flood: { source: '192.0.2.50', windowMs: 60_000, attemptThreshold: 10, minCompletionRatio: 0.1, coolingMs: 60_000, rejectStatus: 503 },
    retryAfterSeconds: { portLimit: 5, trunkChannels: 5 },
  });
  expect(admitted.admit).toBe(true);
  await adm.appendEvent(id, 'port-limit', { limit: '100' });
  const hunt = new HuntStateStore(h.redis, keys);
  await hunt.groupAnswered(id, '2001', '1001');
  await hunt.callStarted(id, ['1001']);
  await hunt.callEnded(id, ['1001']);

  const ledger = new BillingLedger(h.redis, keys, { closeGraceMs: 172_800_000, tariffCacheMs: 0 });
  const tariff = await ledger.tariffFor(id);
  const calls = [cdr(id, 1), cdr(id, 2)];
  await ledger.chargeBatch(id, calls.map((c) => rateCdr(c, tariff)));
  const streams = new CdrStreams(h.redis, keys, 4);
  await streams.ensureGroup();
  for (const c of calls) await streams.publishCdr(c);
  const shard = streams.shardOf(id);
  const [entry] = await streams.read(h.redis, { shard, consumer: 'test', count: 1 });
  if (entry === undefined) throw new Error('no stream entry');
  await streams.deadLetter(entry, 'test: unchargeable', 5);
  return key;
}

/** Every key of the prefix and, for global keys, whether their content names `id`. */
async function findTraces(id: string): Promise<string[]> {
  const traces: string[] = [];
  let cursor = '0';
  const all: string[] = [];
  do {
    const [next, found] = await h.redis.scan(cursor, 'MATCH', `${h.prefix}:*`, 'COUNT', 1000);
    cursor = next;
    all.push(...found);
  } while (cursor !== '0');
  for (const k of all) {
    if (k.includes(`{t:${id}}`)) {
      traces.push(`key ${k}`);
      continue;
    }
    if (k.startsWith(`${h.prefix}:{r:`) || k === keys.global.audit() || k.includes('{t:')) continue; // retention set, platform audit, other tenants
    const type = await h.redis.type(k);
    let content = '';
    if (type === 'hash') content = JSON.stringify(await h.redis.hgetall(k));
    else if (type === 'set') content = JSON.stringify(await h.redis.smembers(k));
    else if (type === 'zset') content = JSON.stringify(await h.redis.zrange(k, 0, -1));
    else if (type === 'list') content = JSON.stringify(await h.redis.lrange(k, 0, -1));
    else if (type === 'stream') content = JSON.stringify(await h.redis.xrange(k, '-', '+'));
    else if (type === 'string') content = (await h.redis.get(k)) ?? '';
    if (content.includes(id)) traces.push(`${type} ${k}: ${content.slice(0, 200)}`);
  }
  return traces;
}

beforeAll(async () => {
  h = await harness({ security: { tenantWriteBurst: 10_000 } });
  keys = keySchema(h.prefix);
});
afterAll(() => h.close());

describe('tenant purge', () => {
  it('create, use, terminate, purge, scan: 0 keys; re-create: empty', async () => {
    await populate(GONE);
    await populate(KEEP);
    const lifecycle = new TenantDataLifecycle(h.redis, keys);
    const keepBefore = (await lifecycle.tenantKeys(KEEP)).sort();
    expect((await lifecycle.tenantKeys(GONE)).length).toBeGreaterThan(25);
    expect((await findTraces(GONE)).length).toBeGreaterThan(5);

    expect((await h.call('DELETE', `/v1/tenants/${GONE}?confirm=${GONE}`)).json().code).toBe('KUMO_ERR_TENANT_NOT_TERMINATED');
    expect((await h.call('POST', `/v1/tenants/${GONE}/terminate`)).statusCode).toBe(200);
    const del = await h.call('DELETE', `/v1/tenants/${GONE}?confirm=${GONE}`);
    expect(del.statusCode).toBe(200);
    const res = del.json();
    expect(res.deletedKeys).toBeGreaterThan(25);
    expect(res.cdrEntries).toBe(3); // two CDRs in the shard stream, one dead letter
    expect(res.retention.keys.some((k: string) => k.startsWith('bill:calls:'))).toBe(true);

    expect(await findTraces(GONE)).toEqual([]);
    expect((await lifecycle.tenantKeys(KEEP)).sort()).toEqual(keepBefore);
    expect((await findTraces(KEEP)).length).toBeGreaterThan(5);

    // Re-created: the same id starts empty.
    const key = await h.tenant(GONE);
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a JSON body read field by field
    const get = async (url: string): Promise<any> => (await h.call('GET', `/v1/tenants/${GONE}${url}`, { key })).json();
    expect((await get('/billing/months/current')).main.calls).toBe(0);
    expect((await get('/billing/months/current/calls')).total).toBe(0);
    expect((await get('/extensions')).items).toEqual([]);
    expect((await get('/trunks')).items).toEqual([]);
    expect((await get('/dids')).items).toEqual([]);
    expect((await get('/admission/priority-numbers')).numbers).toEqual([]);
    expect((await get('/admission/events')).items).toEqual([]);
    expect((await get('/registrations')).items).toEqual([]);
    expect((await get('/billing/tariff')).override).toBeNull();
    expect((await get('/audit')).items.map((e: { action: string }) => e.action)).toEqual(['apiKey.issue', 'tenant.create']);
    // The freed DID and gateway can be given to the new tenant.
    expect((await h.call('POST', `/v1/tenants/${GONE}/dids`, { body: { number: '+81500000010', target: { type: 'extension', number: '1001' } } })).json().code).toBe(
      'KUMO_ERR_UNKNOWN_REFERENCE',
    );
  });

  it('retention sets are operator-only and deleted by the retention job once expired', async () => {
    const list = await h.call('GET', '/v1/platform/retention');
    expect(list.statusCode).toBe(200);
    const set = list.json().items.find((r: { tenantId: string }) => r.tenantId === GONE);
    expect(set).toBeDefined();
    expect(set.expiresAt - set.purgedAt).toBeGreaterThan(7 * 365 * 86_400_000);
    const ttl = await h.redis.pttl(keys.global.retained(set.id, 'meta'));
    expect(ttl).toBeGreaterThan(0);
    // Nothing is due yet.
    expect((await h.call('POST', '/v1/platform/retention/sweep')).json().deletedSets).toBe(0);
    // Eight years later.
    const later = new TenantDataLifecycle(h.redis, keys, { retainBillingMs: 1 }, () => Date.now() + 8 * 366 * 86_400_000);
    expect(await later.sweepRetention()).toBeGreaterThanOrEqual(1);
    const [, left] = await h.redis.scan('0', 'MATCH', `${h.prefix}:{r:${set.id}}:*`, 'COUNT', 10_000);
    expect(left).toEqual([]);
    expect(await h.redis.zscore(keys.global.retention(), set.id)).toBeNull();
  });
});
