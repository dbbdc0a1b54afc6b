/**
 * One gateway-health signal (docs/operations.md, KumoTrunkGatewayDown): the prober sends no pings of its own; it
 * reads the sip process's pinger state (`GatewayHealthStore`, what routing uses) and opens an incident for the
 * tenants of a gateway that is down there, closing it when the pinger sees it up again.
 */
import dgram from 'node:dgram';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayIdentity } from '@kumo/domain';
import { createOpsMetrics, silentLogger } from '@kumo/runtime';
import { GatewayHealthStore, keySchema } from '@kumo/store';
import { freePort } from '@kumo/testkit';
import { Prober } from '../../src/ops/prober.js';
import { harness, type Harness } from './helpers.js';

let h: Harness;
let prober: Prober;
let gwPort: number;
let pings = 0;
let gateway: dgram.Socket;

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
  await h.tenant('gwt');
  await h.tenant('bystander');
  gwPort = await freePort();
  // A gateway socket that counts what it receives: the prober must send it nothing.
  gateway = dgram.createSocket('udp4');
  gateway.on('message', () => pings++);
  await new Promise<void>((r) => gateway.bind(gwPort, '127.0.0.1', () => r()));
  // A loopback gateway is a special address: the operator grants it explicitly (docs/security.md).
  const g = await h.call('PUT', '/v1/tenants/gwt/grants', { body: { gateways: ['127.0.0.1'], allowSpecial: true } });
  expect(g.statusCode, g.body).toBe(200);
  const r = await h.call('POST', '/v1/tenants/gwt/trunks', { body: { id: 'main', name: 'carrier', gateways: [{ host: '127.0.0.1', port: gwPort, transport: 'udp' }], channelLimit: 10 } });
  expect(r.statusCode, r.body).toBe(201);
  prober = new Prober({
    redis: h.redis,
    keys: keySchema(h.prefix),
    log: silentLogger(),
    metrics: createOpsMetrics(new Registry()),
    settings: { intervalMs: 300, timeoutMs: 1000, failuresToOpen: 2, engines: [], billingLagMaxS: 300, gateways: true, discoveryMs: 60_000, probeAccount: false, deepIntervalMs: 60_000 },
    cdrShards: 1,
  });
  prober.start();
});
afterAll(async () => {
  await prober?.close();
  gateway?.close();
  await h?.close();
});

type Inc = { id: string; probe: string | null; state: string; cause: string; impact: { tenants: string | string[]; scope: string; ports: number | null } };

describe('trunk gateway incidents from the pinger state', () => {
  it('a gateway the pinger marks down opens a partial incident for its tenant only; it closes when the pinger sees it up', async () => {
    const key = `gateway:udp:127.0.0.1:${gwPort}`;
    const id = gatewayIdentity({ host: '127.0.0.1', port: gwPort, transport: 'udp' });
    const health = new GatewayHealthStore(h.redis, keySchema(h.prefix));
    await until('the gateway probe to be ok', async () => (await h.call('GET', '/v1/ops/probes')).json<{ items: { key: string; ok: boolean }[] }>().items.find((p) => p.key === key && p.ok), 15_000);
    // What the sip pinger writes after three unanswered OPTIONS (downAfter 3).
    for (let i = 0; i < 3; i++) await health.record(id, false, undefined, Date.now(), 3);
    const inc = await until('a gateway incident', async () => (await h.call('GET', '/v1/ops/incidents?state=open')).json<{ items: Inc[] }>().items.find((i) => i.probe === key), 20_000);
    expect(inc.impact).toEqual({ tenants: ['gwt'], ports: 100, scope: 'partial' });
    expect(inc.cause).toMatch(/3 OPTIONS pings unanswered/);
    expect((await h.call('GET', '/v1/tenants/bystander/incidents')).json<{ items: Inc[] }>().items).toEqual([]);
    await health.record(id, true, 200, Date.now(), 3);
    await until('the incident to close', async () => ((await h.call('GET', `/v1/ops/incidents/${inc.id}`)).json<Inc>().state === 'resolved' ? true : undefined), 20_000);
    expect(pings).toBe(0);
  }, 60_000);
});
