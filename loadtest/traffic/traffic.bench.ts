/**
 * Traffic report benchmark: the report of one tenant's month of KUMO_BENCH_TRAFFIC_CDRS booked calls
 * (default 1,000,000; target: under 30 s), read from billing's per-call detail in Redis.
 *
 *   npx tsc -b && npx vitest run --config loadtest/traffic/vitest.config.ts
 *
 * Seeding (not timed) charges the calls through the billing ledger, as the worker does. Then:
 * 1. Baseline: a raw HSCAN of the same hash (no parsing), the floor any report over Redis pays.
 * 2. The report: HSCAN + JSON parse + the accumulator (per hour, per trunk, per ring group) + Erlang-B sizing.
 * Prints wall-clock seconds, the ratio to the baseline, CPU seconds per 1,000 calls of this process and of
 * redis-server, the peak heap growth while the report ran (the report streams: HSCAN pages into fixed per-hour
 * series, so memory must not grow with the number of calls), and the load average. Results go to
 * loadtest/results/traffic.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addMonths, buildCdr, jstMonthOf, jstMonthStartMs, rateCdr } from '@kumo/domain';
import { BillingLedger, DirectoryRepo, createRedis, keySchema, monthTrafficReport, type RedisClient } from '@kumo/store';
import { startRedis, type RedisHandle } from '@kumo/testkit';

const N = Number(process.env.KUMO_BENCH_TRAFFIC_CDRS ?? 1_000_000);
const BATCH = 1000;
const TENANT = 'bench';
// A future month: always open, so every call is booked into it (section main).
const MONTH = addMonths(jstMonthOf(Date.now()), 1);
const results: Record<string, unknown> = { loadavgAtStart: loadavg().map((x) => Number(x.toFixed(2))), n: N, month: MONTH };

let h: RedisHandle;
let redis: RedisClient;
const keys = keySchema('bench');

async function redisCpu(): Promise<number> {
  const info = await redis.info('cpu');
  return Number(/used_cpu_user:([\d.]+)/.exec(info)?.[1] ?? 0) + Number(/used_cpu_sys:([\d.]+)/.exec(info)?.[1] ?? 0);
}

async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; seconds: number; cpu: number; redisCpu: number; peakHeapMiB: number }> {
  const r0 = await redisCpu();
  (globalThis as { gc?: () => void }).gc?.();
  const heap0 = process.memoryUsage().heapUsed;
  let peak = heap0;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().heapUsed)), 20);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const value = await fn();
  const seconds = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage().heapUsed);
  return { value, seconds, cpu: (c.user + c.system) / 1e6, redisCpu: (await redisCpu()) - r0, peakHeapMiB: (peak - heap0) / 1048576 };
}

beforeAll(async () => {
  h = await startRedis({ settings: { appendonly: 'no' } });
  redis = createRedis(h.url);
  const ledger = new BillingLedger(redis, keys, { closeGraceMs: 172_800_000, tariffCacheMs: 60_000 });
  const tariff = await ledger.tariffFor(TENANT);
  const start = jstMonthStartMs(MONTH);
  const span = 28 * 86_400_000;
  const t0 = performance.now();
  for (let i = 0; i < N; i += BATCH) {
    const batch = [];
    for (let j = i; j < Math.min(N, i + BATCH); j++) {
      const startedAt = start + Math.floor((j / N) * span);
      const blocked = j % 97 === 0;
      const secs = 30 + ((j * 7919) % 400);
      batch.push(
        rateCdr(
          buildCdr({
            tenantId: TENANT,
            aLegCallId: `b-${j}`,
            aLegFromTag: 'f',
            direction: j % 3 === 0 ? 'inbound' : 'outbound',
            caller: { dialled: '201', extension: `${200 + (j % 50)}` },
            callee: { dialled: '0312345678' },
            trunkId: `trunk-${j % 4}`,
            ...(j % 5 === 0 ? { group: `60${j % 3}` } : {}),
            startedAt,
            ...(blocked ? {} : { answeredAt: startedAt + 4000 }),
            endedAt: blocked ? startedAt : startedAt + secs * 1000,
            finalStatus: blocked ? 503 : 200,
            ...(blocked ? { rejectionReason: j % 2 === 0 ? 'port-limit' : 'trunk-channels' } : {}),
          }),
          tariff,
        ),
      );
    }
    await ledger.chargeBatch(TENANT, batch);
  }
  results.seedSeconds = Number(((performance.now() - t0) / 1000).toFixed(1));
}, 1_800_000);

afterAll(async () => {
  redis.disconnect();
  await h.stop();
  results.loadavgAtEnd = loadavg().map((x) => Number(x.toFixed(2)));
  mkdirSync(new URL('../results/', import.meta.url), { recursive: true });
  writeFileSync(new URL('../results/traffic.json', import.meta.url), `${JSON.stringify({ at: new Date().toISOString(), ...results }, null, 2)}\n`);
});

describe(`traffic report over ${N} calls`, () => {
  it('baseline HSCAN, then the report', async () => {
    const base = await timed(async () => {
      let n = 0;
      let cursor = '0';
      do {
        const [next, flat] = await redis.hscan(keys.tenant.billCalls(TENANT, MONTH), cursor, 'COUNT', 5000);
        cursor = next;
        n += flat.length / 2;
      } while (cursor !== '0');
      return n;
    });
    const rep = await timed(() => monthTrafficReport(redis, keys, new DirectoryRepo(redis, keys), TENANT, MONTH));
    expect(base.value).toBe(N);
    expect(rep.value.calls).toBe(N);
    // Streaming: a million-call month must not be held in memory (a few hundred bytes per call would be ~400 MiB).
    expect(rep.peakHeapMiB).toBeLessThan(200);
    const per1k = (cpu: number): number => Number(((cpu / N) * 1000).toFixed(4));
    Object.assign(results, {
      baselineSeconds: Number(base.seconds.toFixed(2)),
      reportSeconds: Number(rep.seconds.toFixed(2)),
      ratioToBaseline: Number((rep.seconds / base.seconds).toFixed(2)),
      cpuSecondsPer1000: { report: per1k(rep.cpu), redis: per1k(rep.redisCpu), baseline: per1k(base.cpu), baselineRedis: per1k(base.redisCpu) },
      peakHeapGrowthMiB: Number(rep.peakHeapMiB.toFixed(1)),
      busyHour: rep.value.tenant.busyHour?.hour,
      recommendedChannels: rep.value.tenant.sizing.recommendedChannels,
    });
    console.log(
      `RESULT traffic report: ${N} calls in ${rep.seconds.toFixed(2)} s (target < 30 s); baseline HSCAN ${base.seconds.toFixed(2)} s; ` +
        `ratio ${(rep.seconds / base.seconds).toFixed(2)}; CPU-s per 1000 calls: report ${per1k(rep.cpu)}, redis ${per1k(rep.redisCpu)}; ` +
        `peak heap growth ${rep.peakHeapMiB.toFixed(1)} MiB; ` +
        `load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`,
    );
  });
});
