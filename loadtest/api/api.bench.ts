/**
 * Provisioning API benchmark over real HTTP on loopback. Prints figures and ratios against a
 * baseline measured in the same run.
 *
 *   npx tsc -b && npx vitest run --config loadtest/api/vitest.config.ts
 *
 * Env: KUMO_BENCH_API_N (default 5000) requests per phase, KUMO_BENCH_API_CONCURRENCY (50).
 *
 * 1. Baseline (after a warm-up): unauthenticated `GET /healthz` (fastify + node:http, no Redis).
 * The fetch client runs in the same process, so absolute figures include its cost; compare ratios.
 * 2. `GET /v1/tenants/:id/extensions/:n` (auth HGET + tenant HGETALL + GET + response schema).
 * 3. `POST /v1/tenants/:id/extensions` (validation, HA1 hashing, plan read, the contract Lua script, audit XADD).
 * Redis: a private redis-server with AOF appendfsync everysec (the production setting).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApp, createOperatorKey } from '@kumo/api';
import { createRedis, keySchema, type RedisClient } from '@kumo/store';
import { startRedis, type RedisHandle } from '@kumo/testkit';

const N = Math.min(9000, Number(process.env.KUMO_BENCH_API_N ?? 5000));
const C = Number(process.env.KUMO_BENCH_API_CONCURRENCY ?? 50);
const results: Record<string, unknown> = { loadavgAtStart: loadavg().map((x) => Number(x.toFixed(2))), n: N, concurrency: C };

let h: RedisHandle;
let redis: RedisClient;
let app: FastifyInstance;
let base: string;
let op: string;

beforeAll(async () => {
  h = await startRedis({ settings: { appendonly: 'yes', appendfsync: 'everysec' } });
  redis = createRedis(h.url);
  const keys = keySchema('bench');
  app = await buildApp({ redis, keys, docs: false });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const a = app.server.address();
  base = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
  op = (await createOperatorKey({ redis, keys }, 'bench')).key;
  const r = await fetch(`${base}/v1/tenants`, {
    method: 'POST',
    headers: { authorization: `Bearer ${op}`, 'content-type': 'application/json' },
    body: JSON.stringify({ id: 'bench', name: 'bench', sipDomain: 'bench.kumo.test', ports: 20000, trunkChannels: 10, callsPerSecond: 10 }),
  });
  expect(r.status).toBe(201);
});

afterAll(async () => {
  await app.close();
  redis.disconnect();
  await h.stop();
  mkdirSync(new URL('../results/', import.meta.url), { recursive: true });
  writeFileSync(new URL('../results/api.json', import.meta.url), `${JSON.stringify({ at: new Date().toISOString(), ...results }, null, 2)}\n`);
});

/** Runs `n` requests with `c` in flight; returns requests per second. */
async function drive(n: number, c: number, one: (i: number) => Promise<number>): Promise<{ rps: number; p99ms: number; bad: number }> {
  let next = 0;
  let bad = 0;
  const lat: number[] = [];
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: c }, async () => {
      for (;;) {
        const i = next++;
        if (i >= n) return;
        const s = performance.now();
        const status = await one(i);
        lat.push(performance.now() - s);
        if (status >= 400) bad++;
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  return { rps: Math.round(n / secs), p99ms: Number((lat[Math.floor(lat.length * 0.99)] ?? 0).toFixed(1)), bad };
}

describe('provisioning API throughput', () => {
  it('baseline, reads and contract-checked creates', async () => {
    const auth = { authorization: `Bearer ${op}` };
    // Warm up JIT, sockets and the Redis connection before measuring.
    await drive(Math.min(N, 1000), C, async () => (await fetch(`${base}/healthz`)).status);
    await drive(Math.min(N, 500), C, async () => (await fetch(`${base}/v1/me`, { headers: auth })).status);
    const baseline = await drive(N, C, async () => (await fetch(`${base}/healthz`)).status);
    const creates = await drive(N, C, async (i) =>
      (
        await fetch(`${base}/v1/tenants/bench/extensions`, {
          method: 'POST',
          headers: { ...auth, 'content-type': 'application/json' },
          body: JSON.stringify({ number: String(1000 + i), displayName: `bench ${i}`, password: `password${i}` }),
        })
      ).status,
    );
    const reads = await drive(N, C, async (i) => (await fetch(`${base}/v1/tenants/bench/extensions/${1000 + (i % N)}`, { headers: auth })).status);
    Object.assign(results, {
      baselineHealthz: baseline,
      extensionReads: { ...reads, ratioToBaseline: Number((reads.rps / baseline.rps).toFixed(3)) },
      extensionCreates: { ...creates, ratioToBaseline: Number((creates.rps / baseline.rps).toFixed(3)) },
    });
    console.log(JSON.stringify(results, null, 2));
    expect([baseline.bad, creates.bad, reads.bad]).toEqual([0, 0, 0]);
  });
});
