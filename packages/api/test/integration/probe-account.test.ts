/**
 * The probe account end to end (docs/operations.md, "Probe account"): a real engine and a real sip process; the
 * prober registers (digest) and runs the test call loop through the engine. SIGSTOP on the sip app fails both deep
 * probes (OPTIONS, answered by the engine, may still pass) → incidents open; SIGCONT → they close.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PROBE_TENANT_ID } from '@kumo/domain';
import { createOpsMetrics, silentLogger } from '@kumo/runtime';
import { keySchema } from '@kumo/store';
import { freePort } from '@kumo/testkit';
import { Prober } from '../../src/ops/prober.js';
import { harness, type Harness } from './helpers.js';

const MAIN = fileURLToPath(new URL('../../../cli/dist/main.js', import.meta.url));

let h: Harness;
let engine: ChildProcess;
let sip: ChildProcess;
let sipPort: number;
let prober: Prober;
let sipOutput = '';
const registry = new Registry();

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  h = await harness();
  await h.tenant('acme');
  sipPort = await freePort();
  const sipOps = `127.0.0.1:${await freePort()}`;
  const env = {
    ...process.env,
    KUMO_LOG_LEVEL: 'warn',
    KUMO_REDIS_URL: inject('redisUrl'),
    KUMO_REDIS_PREFIX: h.prefix,
    KUMO_SIP_LISTEN: `udp/127.0.0.1:${sipPort},tcp/127.0.0.1:${sipPort}`,
    KUMO_ENGINE_CONTROL: `127.0.0.1:${await freePort()}`,
    KUMO_ENGINE_SECRET: 'probe-secret',
    KUMO_NONCE_SECRET: 'p'.repeat(32),
    KUMO_ENGINE_OPS_LISTEN: `127.0.0.1:${await freePort()}`,
    KUMO_SIP_OPS_LISTEN: sipOps,
    KUMO_SIP_KEEPALIVE_S: '0',
    KUMO_SIP_GATEWAY_PING_INTERVAL_S: '0',
  };
  engine = spawn(process.execPath, [MAIN, 'engine'], { env, stdio: 'ignore' });
  sip = spawn(process.execPath, [MAIN, 'sip'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  sip.stdout?.on('data', (d: Buffer) => (sipOutput = (sipOutput + d.toString()).slice(-20_000)));
  sip.stderr?.on('data', (d: Buffer) => (sipOutput = (sipOutput + d.toString()).slice(-20_000)));
  await until('the sip app to be ready', async () => ((await fetch(`http://${sipOps}/readyz`)).status === 200 ? true : undefined), 30_000);
  prober = new Prober({
    redis: h.redis,
    keys: keySchema(h.prefix),
    log: silentLogger(),
    metrics: createOpsMetrics(registry),
    settings: {
      intervalMs: 500, timeoutMs: 2000, failuresToOpen: 2, engines: [{ proto: 'udp', host: '127.0.0.1', port: sipPort }, { proto: 'tcp', host: '127.0.0.1', port: sipPort }], billingLagMaxS: 300,
      gateways: false, discoveryMs: 60_000, probeAccount: true, deepIntervalMs: 500,
    },
    cdrShards: 2,
  });
  prober.start();
}, 60_000);

afterAll(async () => {
  await prober?.close();
  for (const c of [sip, engine]) {
    if (c && c.exitCode === null) {
      c.kill('SIGCONT');
      c.kill('SIGTERM');
    }
  }
  await h?.close();
});

type Probe = { key: string; ok: boolean; lastError: string | null };
type Inc = { id: string; probe: string | null; state: string; impact: { tenants: string | string[]; scope: string } };
const probes = async (): Promise<Probe[]> => (await h.call('GET', '/v1/ops/probes')).json<{ items: Probe[] }>().items;

describe('probe account: authenticated REGISTER and the test call loop through the engine', () => {
  it('both pass against a healthy stack, over UDP and over TCP; the probe tenant stays out of tenant lists and its calls leave CDRs', async () => {
    const want = ['udp', 'tcp'].flatMap((t) => {
      const at = t === 'udp' ? `127.0.0.1:${sipPort}` : `tcp:127.0.0.1:${sipPort}`;
      return [`engine-options:${at}`, `engine-register:${at}`, `engine-call:${at}`];
    });
    try {
      await until('every probe over both transports to pass', async () => {
        const p = await probes();
        return want.every((k) => p.find((x) => x.key === k)?.ok) ? true : undefined;
      }, 30_000);
    } catch (e) {
      throw new Error(`${(e as Error).message}: ${JSON.stringify(await probes())}\n${sipOutput}`);
    }
    const metrics = await registry.metrics();
    expect(metrics).toMatch(/kumo_ops_probe_call_setup_seconds_count [1-9]/);
    expect(metrics).toMatch(/kumo_ops_probe_results_total\{kind="engine-call",result="ok"\} [1-9]/);
    // Unlisted: operators' tenant list does not show it, and its id is not addressable through the API.
    const list = (await h.call('GET', '/v1/tenants?limit=1000')).json<{ items: { id: string }[] }>().items.map((t) => t.id);
    expect(list).toContain('acme');
    expect(list).not.toContain(PROBE_TENANT_ID);
    expect((await h.call('GET', `/v1/tenants/${PROBE_TENANT_ID}`)).statusCode).toBeGreaterThanOrEqual(400);
    // The test call is a real call: it left a CDR (which billing skips, see the billing worker test).
    const keys = keySchema(h.prefix);
    await until('a CDR of the probe tenant', async () => {
      const cdrs = (await Promise.all([0, 1].map((s) => h.redis.xrange(keys.global.cdrStream(s), '-', '+')))).flat();
      return cdrs.some(([, f]) => String(f[1]).includes(PROBE_TENANT_ID)) ? true : undefined;
    }, 10_000);
  }, 60_000);

  it('SIGSTOP on the sip app fails both, incidents open; SIGCONT closes them', async () => {
    const keysOf = [`engine-register:127.0.0.1:${sipPort}`, `engine-call:127.0.0.1:${sipPort}`];
    sip.kill('SIGSTOP');
    const opened = await until('incidents for both deep probes', async () => {
      const items = (await h.call('GET', '/v1/ops/incidents?state=open')).json<{ items: Inc[] }>().items;
      const found = items.filter((i) => i.probe !== null && keysOf.includes(i.probe));
      return found.length === keysOf.length ? found : undefined;
    }, 30_000);
    for (const i of opened) expect(i.impact).toMatchObject({ tenants: 'all', scope: 'full' });
    expect((await probes()).find((p) => p.key === keysOf[1])?.lastError).toBeTruthy();
    sip.kill('SIGCONT');
    for (const i of opened) {
      await until(`incident ${i.id} to close`, async () => ((await h.call('GET', `/v1/ops/incidents/${i.id}`)).json<Inc>().state === 'resolved' ? true : undefined), 30_000);
    }
    expect(await registry.metrics()).toMatch(/kumo_ops_probe_results_total\{kind="engine-call",result="fail"\} [1-9]/);
  }, 90_000);
});
