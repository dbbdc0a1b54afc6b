import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jstMonthOf, jstMonthStartMs, addMonths } from '@kumo/domain';
import { createOpsMetrics, silentLogger } from '@kumo/runtime';
import { keySchema } from '@kumo/store';
import { freePort } from '@kumo/testkit';
import { Prober } from '../../src/ops/prober.js';
import { SipProbeClient } from '../../src/ops/sip-probe.js';
import { harness, type Harness } from './helpers.js';

const MAIN = fileURLToPath(new URL('../../../cli/dist/main.js', import.meta.url));

let h: Harness;
let acmeKey: string;
let otherKey: string;
let engine: ChildProcess;
let sipPort: number;
let prober: Prober;
const registry = new Registry();

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  h = await harness();
  acmeKey = await h.tenant('acme');
  otherKey = await h.tenant('other');
  sipPort = await freePort();
  engine = spawn(process.execPath, [MAIN, 'engine'], {
    env: { ...process.env, KUMO_SIP_LISTEN: `udp/127.0.0.1:${sipPort}`, KUMO_ENGINE_CONTROL: '127.0.0.1:0', KUMO_ENGINE_OPS_LISTEN: '127.0.0.1:0', KUMO_LOG_LEVEL: 'warn' },
    stdio: 'ignore',
  });
  const client = new SipProbeClient();
  await until('the engine to answer OPTIONS', () => client.request({ host: '127.0.0.1', port: sipPort }, 'OPTIONS', 300).then(() => true, () => undefined), 20_000);
  client.close();
  prober = new Prober({
    redis: h.redis,
    keys: keySchema(h.prefix),
    log: silentLogger(),
    metrics: createOpsMetrics(registry),
    settings: { intervalMs: 500, timeoutMs: 1000, failuresToOpen: 2, engines: [{ proto: 'udp', host: '127.0.0.1', port: sipPort }], billingLagMaxS: 300, gateways: false, discoveryMs: 60_000, probeAccount: false, deepIntervalMs: 60_000 },
    cdrShards: 2,
  });
  prober.start();
}, 60_000);

afterAll(async () => {
  await prober?.close();
  if (engine && engine.exitCode === null) {
    engine.kill('SIGCONT');
    engine.kill('SIGTERM');
  }
  await h?.close();
});

type Inc = { id: string; probe: string | null; state: string; start: string; detectedAt: string; end: string | null; impact: { tenants: string | string[]; scope: string; ports: number } };

describe('probes and automatic incidents', () => {
  it('an incident opens within 30 s of SIGSTOP on the engine and closes after SIGCONT; the availability timeline shows it', async () => {
    const probeKey = `engine-options:127.0.0.1:${sipPort}`;
    await until('the engine probe to be ok', async () => {
      const items = (await h.call('GET', '/v1/ops/probes')).json<{ items: { key: string; ok: boolean }[] }>().items;
      return items.find((p) => p.key === probeKey && p.ok);
    }, 10_000);

    const stoppedAt = Date.now();
    engine.kill('SIGSTOP');
    const opened = await until('an open incident', async () => {
      const items = (await h.call('GET', '/v1/ops/incidents?state=open')).json<{ items: Inc[] }>().items;
      return items.find((i) => i.probe === probeKey);
    }, 30_000);
    expect(Date.now() - stoppedAt).toBeLessThan(30_000);
    expect(opened.impact).toMatchObject({ tenants: 'all', scope: 'full', ports: 200 });
    expect(Date.parse(opened.detectedAt)).toBeGreaterThanOrEqual(Date.parse(opened.start));
    // The gauges are set at the end of the round that opened the incident.
    await until('the probe gauges', async () => {
      const metrics = await registry.metrics();
      return /kumo_ops_probe_failing_targets\{kind="engine-options"\} 1/.test(metrics) && /kumo_ops_open_incidents\{scope="full"\} 1/.test(metrics) ? true : undefined;
    }, 5_000);

    // The tenant sees it in its fault history while it is open.
    const mine = (await h.call('GET', '/v1/tenants/acme/incidents?state=open', { key: acmeKey })).json<{ items: Inc[] }>().items;
    expect(mine.map((i) => i.id)).toContain(opened.id);

    engine.kill('SIGCONT');
    const closed = await until('the incident to close', async () => {
      const i = (await h.call('GET', `/v1/ops/incidents/${opened.id}`)).json<Inc>();
      return i.state === 'resolved' ? i : undefined;
    }, 15_000);
    expect(Date.parse(closed.end ?? '')).toBeGreaterThan(Date.parse(closed.start));

    const month = jstMonthOf(Date.parse(closed.start));
    const av = (await h.call('GET', `/v1/tenants/acme/availability/${month}`, { key: acmeKey })).json<{
      availability: number;
      periods: { incidentId: string; scope: string }[];
      sla: { runs: { qualifies: boolean; incidentIds: string[] }[]; compensationCeilingYen: number | null };
    }>();
    expect(av.periods).toContainEqual(expect.objectContaining({ incidentId: opened.id, scope: 'full' }));
    expect(av.availability).toBeLessThan(1);
    expect(av.sla.runs).toContainEqual(expect.objectContaining({ qualifies: false, incidentIds: [opened.id] }));
    expect(av.sla.compensationCeilingYen).toBeNull(); // no monthly fee set yet
    // …and so does the monthly operation report.
    const report = (await h.call('GET', `/v1/tenants/acme/reports/${month}`, { key: acmeKey })).json<{ incidents: { id: string }[]; availability: { availability: number } }>();
    expect(report.incidents.map((i) => i.id)).toContain(opened.id);
    expect(report.availability.availability).toBe(av.availability);
  }, 60_000);
});

describe('manual incidents and Article 33 via the API', () => {
  const month = addMonths(jstMonthOf(Date.now()), -2);
  const start = jstMonthStartMs(month) + 24 * 3_600_000;

  it('operators open and work an incident; only affected tenants see it; tenants cannot manage incidents', async () => {
    const created = await h.call('POST', '/v1/ops/incidents', {
      body: { title: '収容ルータ故障', start: new Date(start).toISOString(), detectedAt: new Date(start + 3_600_000).toISOString(), impact: { tenants: ['acme'], ports: 100, scope: 'full' } },
    });
    expect(created.statusCode).toBe(201);
    const inc = created.json<Inc>();
    expect(inc).toMatchObject({ state: 'open', impact: { tenants: ['acme'] } });
    const patched = await h.call('PATCH', `/v1/ops/incidents/${inc.id}`, {
      body: { cause: 'line card failure', action: 'replaced the line card', end: new Date(start + 51 * 3_600_000).toISOString() },
    });
    expect(patched.statusCode).toBe(200);
    expect(patched.json()).toMatchObject({ state: 'resolved', cause: 'line card failure', actions: [{ text: 'replaced the line card' }] });

    expect((await h.call('GET', '/v1/tenants/acme/incidents', { key: acmeKey })).json<{ items: Inc[] }>().items.map((i) => i.id)).toContain(inc.id);
    expect((await h.call('GET', '/v1/tenants/other/incidents', { key: otherKey })).json<{ items: Inc[] }>().items.map((i) => i.id)).not.toContain(inc.id);
    expect((await h.call('POST', '/v1/ops/incidents', { key: acmeKey, body: { title: 'x', start: new Date().toISOString(), impact: { tenants: 'all', ports: null, scope: 'partial' } } })).statusCode).toBe(403);
    expect((await h.call('PUT', '/v1/tenants/acme/sla-settings', { key: acmeKey, body: { monthlyFeeYen: 1 } })).statusCode).toBe(403);
    expect((await h.call('PATCH', `/v1/ops/incidents/${inc.id}`, { body: { end: new Date(start - 1).toISOString() } })).statusCode).toBe(400);
    expect((await h.call('GET', '/v1/ops/incidents/INC-999999')).statusCode).toBe(404);
  });

  it('a 50 h run counted from detection qualifies; the ceiling is fee × hours / 720 in whole yen', async () => {
    expect((await h.call('PUT', '/v1/tenants/acme/sla-settings', { body: { monthlyFeeYen: 300_000 } })).statusCode).toBe(200);
    const av = (await h.call('GET', `/v1/tenants/acme/availability/${month}`, { key: acmeKey })).json<{
      sla: { runs: { qualifies: boolean; durationSeconds: number }[]; compensableHours: number; compensationCeilingYen: number; claimDeadline: string };
    }>();
    expect(av.sla.runs).toEqual([expect.objectContaining({ qualifies: true, durationSeconds: 50 * 3600 })]);
    expect(av.sla.compensableHours).toBe(50);
    expect(av.sla.compensationCeilingYen).toBe(20_833); // 300,000 × 50 / 720 = 20,833.3
    expect(av.sla.claimDeadline).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    const other = (await h.call('GET', `/v1/tenants/other/availability/${month}`, { key: otherKey })).json<{ availability: number }>();
    expect(other.availability).toBe(1);
  });
});
