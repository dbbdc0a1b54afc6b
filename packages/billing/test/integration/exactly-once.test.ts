/**
 * Exactly-once charging with real processes: the billing worker (built dist/) is SIGKILLed at
 * random points and restarted while CDRs are published; then a private redis-server with AOF
 * `appendfsync always` is SIGKILLed and restarted under load. Every CDR must be booked exactly
 * once and the stored totals must equal a recomputation from the CDRs themselves.
 * Size: KUMO_BILLING_TEST_CDRS (default 20,000; the long mode uses 100,000) and
 * KUMO_BILLING_TEST_REDIS_CDRS for the Redis-restart test (default half of it).
 */
import { afterAll, describe, expect, inject, it } from 'vitest';
import { DEFAULT_TARIFF, rateCdr, sumTotals, type Cdr } from '@kumo/domain';
import { BillingLedger, CdrStreams, createRedis, keySchema, type RedisClient } from '@kumo/store';
import { startRedis, uniquePrefix } from '@kumo/testkit';
import { kill, makeCdrs, rng, sleep, spawnWorker, waitFor } from './helpers.js';

const N = Number(process.env.KUMO_BILLING_TEST_CDRS ?? 20000);
/** CDRs of the Redis-restart test (default N/2; publishing is throttled there). */
const N_REDIS = Number(process.env.KUMO_BILLING_TEST_REDIS_CDRS ?? Math.floor(N / 2));
const SHARDS = 4;
const TENANTS = 25;
/** Time limits grow with the size (the long mode runs 100,000 CDRs). */
const TEST_MS = Math.max(90_000, N * 5);
const DRAIN_MS = Math.max(40_000, N * 2);
const clients: RedisClient[] = [];
afterAll(() => clients.forEach((c) => c.disconnect()));

/** Checks every expected CDR is booked exactly once and totals equal the recomputation. */
async function verify(redis: RedisClient, prefix: string, expected: readonly Cdr[], mayAlsoContain: readonly Cdr[] = []) {
  const keys = keySchema(prefix);
  const ledger = new BillingLedger(redis, keys, { closeGraceMs: 172800000 });
  const rated = new Map([...mayAlsoContain, ...expected].map((c) => [c.cdrId, rateCdr(c, DEFAULT_TARIFF)]));
  const months = new Map<string, Set<string>>(); // tenant|month → expected cdr ids
  for (const c of expected) {
    const k = `${c.tenantId}|${rated.get(c.cdrId)!.month}`;
    const set = months.get(k) ?? new Set<string>();
    set.add(c.cdrId);
    months.set(k, set);
  }
  let booked = 0;
  for (const [k, want] of months) {
    const [t, m] = k.split('|') as [string, string];
    const ids = await redis.hkeys(keys.tenant.billCalls(t, m));
    const unique = new Set(ids);
    expect(unique.size).toBe(ids.length);
    const mine = ids.map((id) => rated.get(id));
    expect(mine.every((c) => c !== undefined), 'a booked CDR was never published').toBe(true);
    for (const id of want) expect(unique.has(id), `CDR ${id} not booked`).toBe(true);
    expect(await redis.zcard(keys.tenant.billCallIndex(t, m))).toBe(ids.length);
    // independent recomputation of the month's counters from the booked CDRs themselves
    const calls = mine.map((charge) => ({ charge: charge!, section: 'main' as const }));
    expect(await redis.hgetall(keys.tenant.billTotals(t, m))).toEqual(sumTotals(calls));
    const report = await ledger.getMonthlyReport(t, m);
    expect(report.main.calls).toBe(ids.length);
    expect(report.main.charge).toBe(calls.reduce((s, c) => s + c.charge.charge, 0));
    booked += ids.length;
  }
  return booked;
}

/** Every shard's billing group has read everything and acknowledged it. (`lag` is unknown right after a Redis restart, so compare ids.) */
async function allAcked(redis: RedisClient, prefix: string): Promise<boolean> {
  const keys = keySchema(prefix);
  for (let s = 0; s < SHARDS; s++) {
    const key = keys.global.cdrStream(s);
    const [stream, groups] = (await Promise.all([redis.xinfo('STREAM', key), redis.xinfo('GROUPS', key)]).catch(() => [[], []])) as [unknown[], unknown[][]];
    const g = groups.find((x) => x[x.indexOf('name') + 1] === 'billing');
    if (!g) return false;
    if (Number(g[g.indexOf('pending') + 1]) !== 0) return false;
    if (g[g.indexOf('last-delivered-id') + 1] !== stream[stream.indexOf('last-generated-id') + 1]) return false;
  }
  return true;
}

describe('billing exactly-once (real processes)', () => {
  it(`charges ${N} CDRs exactly once while the worker is SIGKILLed and restarted`, async () => {
    const url = inject('redisUrl');
    const prefix = uniquePrefix('eo');
    const redis = createRedis(url);
    clients.push(redis);
    const streams = new CdrStreams(redis, keySchema(prefix), SHARDS);
    const seed = Date.now() % 100000;
    const r = rng(seed);
    const cdrs = makeCdrs(N, { seed, tenants: TENANTS, now: Date.now(), tag: prefix });
    const env = (consumer: string) => ({
      KUMO_REDIS_URL: url,
      KUMO_REDIS_PREFIX: prefix,
      KUMO_CDR_SHARDS: String(SHARDS),
      KUMO_BILLING_CONSUMER: consumer,
      KUMO_BILLING_BATCH: '200',
      KUMO_BILLING_CLAIM_IDLE_MS: '1500',
      KUMO_BILLING_TRIM_INTERVAL_MS: '300',
      KUMO_BILLING_RETENTION_MS: '0',
    });
    let worker = spawnWorker(env('w0'));
    let kills = 0;
    let publishing = true;
    const killer = (async () => {
      while (publishing) {
        await sleep(250 + Math.floor(r() * 900));
        await kill(worker);
        kills++;
        // sometimes come back under another name: the old consumer's pending entries must be reclaimed
        worker = spawnWorker(env(`w${Math.floor(r() * 3)}`));
      }
    })();
    // publish in chunks, with some CDRs published twice (a retried publish)
    const chunk = Math.max(200, Math.floor(N / 40));
    for (let i = 0; i < cdrs.length; i += chunk) {
      const part = cdrs.slice(i, i + chunk);
      await Promise.all(part.map((c) => streams.publishCdr(c)));
      await Promise.all(part.filter((_, j) => j % 97 === 0).map((c) => streams.publishCdr(c)));
      await sleep(100);
    }
    await sleep(500);
    publishing = false;
    await killer;
    try {
      await waitFor('every shard acknowledged', () => allAcked(redis, prefix), DRAIN_MS);
      expect(kills).toBeGreaterThanOrEqual(3);
      expect(await verify(redis, prefix, cdrs)).toBe(N);
      console.log(`worker SIGKILLs: ${kills}; CDRs: ${N} (+${Math.ceil(N / 97)} duplicate publishes); all booked exactly once`);
      expect(await redis.xlen(keySchema(prefix).global.cdrDeadLetters())).toBe(0);
    } finally {
      await kill(worker, 'SIGTERM');
    }
  }, TEST_MS);

  it('every CDR whose publish was acknowledged is charged exactly once across redis-server SIGKILL + restart (AOF always)', async () => {
    const h = await startRedis({ settings: { appendonly: 'yes', appendfsync: 'always' } });
    const prefix = uniquePrefix('eor');
    // no offline queue: a publish during the outage fails (and is retried by the test like call control would)
    const redis = createRedis(h.url, { maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => 50 });
    redis.on('error', () => undefined);
    const check = createRedis(h.url, { maxRetriesPerRequest: null });
    check.on('error', () => undefined);
    clients.push(redis, check);
    const streams = new CdrStreams(redis, keySchema(prefix), SHARDS);
    const n = N_REDIS;
    const cdrs = makeCdrs(n, { seed: 7, tenants: TENANTS, now: Date.now(), tag: prefix });
    const worker = spawnWorker({
      KUMO_REDIS_URL: h.url,
      KUMO_REDIS_PREFIX: prefix,
      KUMO_CDR_SHARDS: String(SHARDS),
      KUMO_BILLING_CONSUMER: 'wr',
      KUMO_BILLING_BATCH: '200',
      KUMO_BILLING_CLAIM_IDLE_MS: '1500',
      KUMO_BILLING_TRIM_INTERVAL_MS: '300',
      KUMO_BILLING_RETENTION_MS: '0',
    });
    const acked: Cdr[] = [];
    const failed: Cdr[] = [];
    let restarts = 0;
    let publishing = true;
    const restarter = (async () => {
      while (publishing) {
        await sleep(700 + Math.floor(Math.random() * 600));
        if (!publishing) break;
        await h.restart();
        restarts++;
      }
    })();
    try {
      const chunk = 250;
      for (let i = 0; i < cdrs.length; i += chunk) {
        await Promise.all(
          cdrs.slice(i, i + chunk).map(async (c) => {
            // like call control: a failed publish is retried for about two seconds, which outlasts a
            // redis-server restart even on a busy machine (duplicates are harmless)
            for (let attempt = 0; attempt < 20; attempt++) {
              try {
                await streams.publishCdr(c);
                acked.push(c);
                return;
              } catch {
                await sleep(100);
              }
            }
            failed.push(c);
          }),
        );
        await sleep(60);
      }
      publishing = false;
      await restarter;
      expect(restarts).toBeGreaterThanOrEqual(2);
      expect(acked.length).toBeGreaterThan(n / 2);
      await waitFor('every shard acknowledged', () => allAcked(check, prefix), DRAIN_MS);
      const booked = await verify(check, prefix, acked, failed);
      expect(booked).toBeGreaterThanOrEqual(acked.length);
      expect(booked).toBeLessThanOrEqual(acked.length + failed.length);
      console.log(`redis-server SIGKILLs: ${restarts}; publishes acknowledged: ${acked.length}, failed: ${failed.length}; booked exactly once: ${booked}`);
    } finally {
      publishing = false;
      await kill(worker, 'SIGTERM');
      await h.stop();
    }
  }, TEST_MS);
});
