/**
 * Admission decision cost. Prints figures and ratios against a baseline measured in the same run.
 *
 *   npx tsc -b && npx vitest run --config loadtest/overload/vitest.config.ts
 *
 * Env: KUMO_BENCH_ADM_N (default 20000) decisions per phase, KUMO_BENCH_ADM_CONCURRENCY (100).
 *
 * 1. Baseline: Redis PING round trips (the floor of any Redis-backed decision).
 * 2. `CallAdmission.admit` + `release` of a normal outbound call on a trunk (classification,
 *    policy, the ADMIT script with ports, trunk and tenant-wide channels, token bucket and flood
 *    guard, then the RELEASE script) — what every call pays.
 * 3. The same while the tenant is full (refused by the script: port-limit) — what overload costs.
 * Redis: a private redis-server with AOF appendfsync everysec (the production setting).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admissionSpec, readConfig } from '@kumo/config';
import { createRegistry, silentLogger } from '@kumo/runtime';
import { createRedis, keySchema, type RedisClient } from '@kumo/store';
import { createCallAdmission, type AdmissionCall, type CallAdmission } from '@kumo/sip';
import { startRedis, type RedisHandle } from '@kumo/testkit';

const N = Math.min(200_000, Number(process.env.KUMO_BENCH_ADM_N ?? 20_000));
const C = Number(process.env.KUMO_BENCH_ADM_CONCURRENCY ?? 100);
const results: Record<string, unknown> = { loadavgAtStart: loadavg().map((x) => Number(x.toFixed(2))), n: N, concurrency: C };

let h: RedisHandle;
let redis: RedisClient;
let admission: CallAdmission;

const call = (tenantId: string, i: number, ports: number): AdmissionCall => ({
  tenantId,
  callId: `bench-${tenantId}-${i}`,
  status: 'active',
  restrictionLevel: 0,
  contract: { ports, callsPerSecond: 1000, burst: 1_000_000, trunkChannels: 20_000 },
  direction: 'outbound',
  facts: { dialled: '0312345678', calleeE164: '+81312345678', callerExtension: String(1000 + (i % 500)) },
  trunk: { trunkId: 'carrier', channels: 20_000 },
  source: `ext:${1000 + (i % 500)}`,
});

beforeAll(async () => {
  h = await startRedis({ settings: { appendonly: 'yes', appendfsync: 'everysec' } });
  redis = createRedis(h.url);
  const config = readConfig({ admission: admissionSpec }, { KUMO_ADMISSION_OVERLOAD_LAG_MS: '0', KUMO_ADMISSION_OVERLOAD_QUEUE_DEPTH: '0' }).admission;
  admission = createCallAdmission({ redis, keys: keySchema('bench'), config, log: silentLogger(), registry: createRegistry('bench') });
  await admission.start();
});

afterAll(async () => {
  admission.close();
  redis.disconnect();
  await h.stop();
  mkdirSync(new URL('../results/', import.meta.url), { recursive: true });
  writeFileSync(new URL('../results/admission.json', import.meta.url), `${JSON.stringify({ at: new Date().toISOString(), ...results }, null, 2)}\n`);
});

/** Runs `n` operations with `c` in flight; returns operations per second and p99 latency. */
async function drive(n: number, c: number, one: (i: number) => Promise<unknown>): Promise<{ ops: number; p99ms: number }> {
  let next = 0;
  const lat: number[] = [];
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: c }, async () => {
      for (;;) {
        const i = next++;
        if (i >= n) return;
        const s = performance.now();
        await one(i);
        lat.push(performance.now() - s);
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  return { ops: Math.round(n / secs), p99ms: Number((lat[Math.floor(lat.length * 0.99)] ?? 0).toFixed(2)) };
}

describe('admission decision cost', () => {
  it('baseline, admit+release, refused', async () => {
    await drive(2000, C, () => redis.ping()); // warm-up
    const baseline = await drive(N, C, () => redis.ping());
    const admitted = await drive(N, C, async (i) => {
      const r = await admission.admit(call('open', i, 20_000));
      if (!r.admit) throw new Error(`refused: ${r.reason}`);
      await admission.release(r.ticket, { answered: true });
    });
    // fill a tenant, then measure refusals
    const fill = await Promise.all(Array.from({ length: 100 }, (_, i) => admission.admit(call('full', i, 100))));
    expect(fill.every((r) => r.admit)).toBe(true);
    const refused = await drive(N, C, async (i) => {
      const r = await admission.admit(call('full', 1000 + i, 100));
      if (r.admit || r.reason !== 'port-limit') throw new Error('expected port-limit');
    });
    Object.assign(results, {
      baselinePingPerS: baseline.ops,
      baselineP99ms: baseline.p99ms,
      admitReleasePerS: admitted.ops,
      admitReleaseP99ms: admitted.p99ms,
      admitReleaseRatio: Number((admitted.ops / baseline.ops).toFixed(3)),
      refusedPerS: refused.ops,
      refusedP99ms: refused.p99ms,
      refusedRatio: Number((refused.ops / baseline.ops).toFixed(3)),
    });
    process.stdout.write(`admission bench: ${JSON.stringify(results)}\n`);
  });
});
