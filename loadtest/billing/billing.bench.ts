/**
 * Billing benchmark. Prints figures and ratios against a baseline measured in the same run.
 *
 *   npx tsc -b && npx vitest run --config loadtest/billing/vitest.config.ts
 *
 * Env: KUMO_BENCH_CDRS (default 100000) CDRs for the rating runs, KUMO_BENCH_CLOSE_CDRS
 * (default 1000000) for the month close, KUMO_BENCH_FSYNC (always | everysec | no; default
 * always, the recommended billing setting), KUMO_BENCH_SHARDS (4), KUMO_BENCH_TENANTS (50).
 *
 * 1. Baseline: raw XREADGROUP + XACK of the same entries on the same Redis, no rating (in-process, one loop per shard).
 * 2. Rating with one worker process, then with two (built dist/worker-main.js): CDRs rated and charged per second.
 * 3. Month close of KUMO_BENCH_CLOSE_CDRS booked calls (close marker + reconciliation of every per-call record
 *    against the totals), with a raw HSCAN of the same hashes as its baseline.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { DEFAULT_TARIFF, buildCdr, jstMonthOf, rateCdr, type Cdr } from '@kumo/domain';
import { BILLING_GROUP, BillingLedger, CdrStreams, createRedis, keySchema, type RedisClient } from '@kumo/store';
import { startRedis, type RedisHandle } from '@kumo/testkit';

const N = Number(process.env.KUMO_BENCH_CDRS ?? 100_000);
const CLOSE_N = Number(process.env.KUMO_BENCH_CLOSE_CDRS ?? 1_000_000);
const FSYNC = process.env.KUMO_BENCH_FSYNC ?? 'always';
const SHARDS = Number(process.env.KUMO_BENCH_SHARDS ?? 4);
const TENANTS = Number(process.env.KUMO_BENCH_TENANTS ?? 50);
const BATCH = 500;
const WORKER = fileURLToPath(new URL('../../packages/billing/dist/worker-main.js', import.meta.url));
const results: Record<string, unknown> = { loadavgAtStart: loadavg().map((x) => Number(x.toFixed(2))), n: N, closeN: CLOSE_N, fsync: FSYNC, shards: SHARDS, tenants: TENANTS, batch: BATCH };

let h: RedisHandle;
let redis: RedisClient;
beforeAll(async () => {
  h = await startRedis({ settings: FSYNC === 'no' ? { appendonly: 'no' } : { appendonly: 'yes', appendfsync: FSYNC } });
  redis = createRedis(h.url);
});
afterAll(async () => {
  redis.disconnect();
  await h.stop();
  mkdirSync(new URL('../results/', import.meta.url), { recursive: true });
  writeFileSync(new URL('../results/billing.json', import.meta.url), `${JSON.stringify({ at: new Date().toISOString(), ...results }, null, 2)}\n`);
});

const DESTS = ['0312345678', '0612345678', '09012345678', '05012345678', '0120123456', '0101202555000', '0104420794600', '1002'];

function makeCdr(i: number, tag: string, now: number): Cdr {
  const to = DESTS[i % DESTS.length] as string;
  const startedAt = now - 3600_000 + (i % 3000_000);
  const secs = (i * 7919) % 600;
  return buildCdr({
    tenantId: `t${i % TENANTS}`,
    aLegCallId: `${tag}-${i}`,
    aLegFromTag: 'b',
    direction: to === '1002' ? 'internal' : 'outbound',
    caller: { dialled: '100', extension: `${100 + (i % 30)}`, department: `d${i % 5}` },
    callee: { dialled: to },
    trunkId: `trunk-${i % 4}`,
    startedAt,
    ...(i % 10 === 0 ? { finalStatus: 486 } : { answeredAt: startedAt + 2000, finalStatus: 200 }),
    endedAt: startedAt + 2000 + secs * 1000,
  });
}

async function fill(prefix: string, n: number): Promise<void> {
  const streams = new CdrStreams(redis, keySchema(prefix), SHARDS);
  await streams.ensureGroup();
  const now = Date.now();
  for (let i = 0; i < n; i += 2000) {
    const p = redis.pipeline();
    for (let j = i; j < Math.min(n, i + 2000); j++) {
      const c = makeCdr(j, prefix, now);
      p.xadd(streams.streamKey(streams.shardOf(c.tenantId)), '*', 'cdr', JSON.stringify(c));
    }
    await p.exec();
  }
}

async function usedMemory(): Promise<number> {
  const info = await redis.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0);
}

function groupInfo(g: unknown[]): Map<string, unknown> {
  const m = new Map<string, unknown>();
  for (let i = 0; i + 1 < g.length; i += 2) m.set(String(g[i]), g[i + 1]);
  return m;
}

/** Entries the billing group has read so far, and whether everything is read and acknowledged. */
async function progress(prefix: string): Promise<{ read: number; done: boolean }> {
  const keys = keySchema(prefix);
  let read = 0;
  let done = true;
  for (let s = 0; s < SHARDS; s++) {
    const groups = (await redis.xinfo('GROUPS', keys.global.cdrStream(s))) as unknown[][];
    const g = groupInfo(groups.find((x) => groupInfo(x).get('name') === BILLING_GROUP) ?? []);
    read += Number(g.get('entries-read') ?? 0);
    if (Number(g.get('pending')) !== 0 || Number(g.get('lag')) !== 0) done = false;
  }
  return { read, done };
}

function startWorker(prefix: string, name: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [WORKER], {
    env: {
      PATH: process.env.PATH ?? '',
      KUMO_REDIS_URL: h.url,
      KUMO_REDIS_PREFIX: prefix,
      KUMO_CDR_SHARDS: String(SHARDS),
      KUMO_BILLING_CONSUMER: name,
      KUMO_BILLING_BATCH: String(BATCH),
      KUMO_BILLING_OPS_LISTEN: '127.0.0.1:0',
      KUMO_LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('message', () => resolve(child));
    child.once('exit', (code) => reject(new Error(`worker exited ${code}`)));
  });
}

async function rateRun(workers: number): Promise<number> {
  const prefix = `bench${workers}w${Date.now() % 100000}`;
  await fill(prefix, N);
  const t0 = performance.now();
  const procs = await Promise.all(Array.from({ length: workers }, (_, i) => startWorker(prefix, `b${i}`)));
  const tReady = performance.now();
  const before = (await progress(prefix)).read;
  for (;;) {
    const p = await progress(prefix);
    if (p.done) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const t1 = performance.now();
  for (const p of procs) p.kill('SIGTERM');
  const perSec = (N - before) / ((t1 - tReady) / 1000);
  console.log(`rating, ${workers} worker(s): ${N} CDRs in ${((t1 - t0) / 1000).toFixed(2)} s incl. start-up; ${Math.round(perSec)} CDR/s after ready (${before} read before ready)`);
  await redis.eval(`for _, k in ipairs(redis.call('KEYS', ARGV[1])) do redis.call('UNLINK', k) end`, 0, `${prefix}:*`);
  return perSec;
}

describe('billing benchmark', () => {
  it('baseline: raw XREADGROUP + XACK, then rating with 1 and 2 workers', async () => {
    const prefix = `base${Date.now() % 100000}`;
    await fill(prefix, N);
    const streams = new CdrStreams(redis, keySchema(prefix), SHARDS);
    const conns = Array.from({ length: SHARDS }, () => redis.duplicate());
    const t0 = performance.now();
    await Promise.all(
      conns.map(async (conn, shard) => {
        for (;;) {
          const entries = await streams.read(conn, { shard, consumer: 'raw', count: BATCH });
          if (entries.length === 0) break;
          await streams.ack(shard, entries.map((e) => e.id));
        }
      }),
    );
    const base = N / ((performance.now() - t0) / 1000);
    conns.forEach((c) => c.disconnect());
    console.log(`baseline (XREADGROUP+XACK, no rating): ${Math.round(base)} entries/s`);
    await redis.eval(`for _, k in ipairs(redis.call('KEYS', ARGV[1])) do redis.call('UNLINK', k) end`, 0, `${prefix}:*`);
    const one = await rateRun(1);
    const two = await rateRun(2);
    Object.assign(results, { baselinePerSec: Math.round(base), oneWorkerPerSec: Math.round(one), twoWorkersPerSec: Math.round(two) });
    console.log(`ratio 1 worker / baseline: ${(one / base).toFixed(3)}; 2 workers / 1 worker: ${(two / one).toFixed(3)}; goal >= 20000/s with one worker: ${one >= 20000 ? 'met' : 'NOT met'}`);
  });

  it(`month close of ${CLOSE_N} booked calls vs a raw HSCAN of the same records`, async () => {
    const prefix = `close${Date.now() % 100000}`;
    const keys = keySchema(prefix);
    const ledger = new BillingLedger(redis, keys, { closeGraceMs: 86400_000 * 30 });
    const now = Date.now();
    const memBefore = await usedMemory();
    const tFill = performance.now();
    const byTenant = new Map<string, ReturnType<typeof rateCdr>[]>();
    const flush = async () => {
      await Promise.all([...byTenant.entries()].map(([t, cs]) => ledger.chargeBatch(t, cs)));
      byTenant.clear();
    };
    for (let i = 0; i < CLOSE_N; i++) {
      const c = rateCdr(makeCdr(i, prefix, now), DEFAULT_TARIFF);
      const l = byTenant.get(c.tenantId) ?? [];
      l.push(c);
      byTenant.set(c.tenantId, l);
      if ((i + 1) % 10_000 === 0) await flush();
    }
    await flush();
    const month = jstMonthOf(now - 3600_000);
    const tenants = Array.from({ length: TENANTS }, (_, i) => `t${i}`);
    const bytesPerCall = Math.round((await usedMemory()) - memBefore) / CLOSE_N;
    results.bytesPerBookedCall = Math.round(bytesPerCall);
    console.log(`memory: ${Math.round(bytesPerCall)} bytes of Redis per booked call`);
    console.log(`booked ${CLOSE_N} calls in ${((performance.now() - tFill) / 1000).toFixed(1)} s (direct ledger charging, in-process)`);
    // baseline: read every per-call record once, no parsing or recomputation
    const tb = performance.now();
    let seen = 0;
    for (const t of tenants) for await (const page of ledger.scanCalls(t, month)) seen += page.length;
    const baseS = (performance.now() - tb) / 1000;
    const tc = performance.now();
    let calls = 0;
    let mismatches = 0;
    for (const t of tenants) {
      const r = await ledger.closeMonth(t, month);
      calls += r.calls ?? 0;
      mismatches += r.mismatches.length;
    }
    const closeS = (performance.now() - tc) / 1000;
    console.log(`month close: ${calls} calls of ${TENANTS} tenants closed and reconciled in ${closeS.toFixed(2)} s (${mismatches} mismatches); raw HSCAN of ${seen} records: ${baseS.toFixed(2)} s; ratio ${(closeS / baseS).toFixed(2)}`);
    results.loadavgAtEnd = loadavg().map((x) => Number(x.toFixed(2)));
    console.log(`load average (1/5/15 min) at start ${JSON.stringify(results.loadavgAtStart)}, at end ${JSON.stringify(results.loadavgAtEnd)}`);
    Object.assign(results, { closeSeconds: Number(closeS.toFixed(2)), closeCalls: calls, closeBaselineScanSeconds: Number(baseS.toFixed(2)), closeMismatches: mismatches });
  });
});
