import dgram from 'node:dgram';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOpsMetrics, silentLogger } from '@kumo/runtime';
import { keySchema } from '@kumo/store';
import { freePort } from '@kumo/testkit';
import { Prober } from '../../src/ops/prober.js';
import { harness, type Harness } from './helpers.js';

let h: Harness;
let prober: Prober;
let gwPort: number;
let gateway: dgram.Socket | undefined;

/** A trunk gateway that answers OPTIONS with 200 (echoing the transaction headers). */
function startGateway(port: number): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  s.on('message', (buf, rinfo) => {
    const req = buf.toString();
    if (!req.startsWith('OPTIONS ')) return;
    const hdr = (n: string): string => new RegExp(`^${n}:[^\\r\\n]*`, 'im').exec(req)?.[0] ?? '';
    const res = ['SIP/2.0 200 OK', hdr('Via'), hdr('From'), `${hdr('To')};tag=gw1`, hdr('Call-ID'), hdr('CSeq'), 'Content-Length: 0', '', ''].join('\r\n');
    s.send(res, rinfo.port, rinfo.address);
  });
  return new Promise((resolve) => s.bind(port, '127.0.0.1', () => resolve(s)));
}
const stopGateway = (): Promise<void> => new Promise((resolve) => (gateway ? gateway.close(() => resolve()) : resolve()));

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
  gateway = await startGateway(gwPort);
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
    settings: { intervalMs: 500, timeoutMs: 1000, failuresToOpen: 2, engines: [], billingLagMaxS: 300, gateways: true, discoveryMs: 60_000 },
    cdrShards: 1,
  });
  prober.start();
});
afterAll(async () => {
  await prober?.close();
  await stopGateway();
  await h?.close();
});

type Inc = { id: string; probe: string | null; state: string; impact: { tenants: string | string[]; scope: string; ports: number | null } };

describe('trunk gateway probe', () => {
  it('a gateway that stops answering OPTIONS opens a partial incident for its tenant only; it closes when the gateway answers again', async () => {
    const key = `gateway:udp:127.0.0.1:${gwPort}`;
    await until('the gateway probe to be ok', async () => (await h.call('GET', '/v1/ops/probes')).json<{ items: { key: string; ok: boolean }[] }>().items.find((p) => p.key === key && p.ok), 15_000);
    await stopGateway();
    const inc = await until('a gateway incident', async () => (await h.call('GET', '/v1/ops/incidents?state=open')).json<{ items: Inc[] }>().items.find((i) => i.probe === key), 20_000);
    expect(inc.impact).toEqual({ tenants: ['gwt'], ports: 100, scope: 'partial' });
    expect((await h.call('GET', '/v1/tenants/bystander/incidents')).json<{ items: Inc[] }>().items).toEqual([]);
    gateway = await startGateway(gwPort);
    await until('the incident to close', async () => ((await h.call('GET', `/v1/ops/incidents/${inc.id}`)).json<Inc>().state === 'resolved' ? true : undefined), 20_000);
  }, 60_000);
});
