/**
 * `kumo_registrations{state,transport}` (docs/operations.md, "Call metrics"): the prober counts every live binding of
 * every tenant by state and transport from the location store, with bounded labels.
 */
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOpsMetrics, silentLogger } from '@kumo/runtime';
import { LocationStore, keySchema } from '@kumo/store';
import { harness, type Harness } from './helpers.js';
import { Prober } from '../../src/ops/prober.js';

let h: Harness;
const registry = new Registry();

beforeAll(async () => {
  h = await harness();
  await h.tenant('rega');
  await h.tenant('regb');
});
afterAll(async () => {
  await h?.close();
});

async function bind(tenantId: string, extension: string, transport: string, expires: number, n = 1): Promise<void> {
  const loc = new LocationStore(h.redis, keySchema(h.prefix));
  const updates = Array.from({ length: n }, (_, i) => ({
    id: `${extension}-${transport}-${i}`, expires, contact: `sip:${extension}@192.0.2.${i + 1}:5060;transport=${transport}`,
    source: { address: `192.0.2.${i + 1}`, port: 5060, transport },
  }));
  const r = await loc.register({ tenantId, extension, callId: `${extension}-${transport}`, cseq: 1, maxContacts: 10, policy: 'reject', mode: 'update', updates });
  expect(r.kind).toBe('ok');
}

const value = async (state: string, transport: string): Promise<number> => {
  const m = (await registry.getMetricsAsJSON()).find((x) => x.name === 'kumo_registrations');
  return Number(m?.values.find((v) => v.labels.state === state && v.labels.transport === transport)?.value ?? Number.NaN);
};

describe('registrations by state', () => {
  it('counts live bindings by state (registered, expiring) and transport, across tenants, with bounded labels', async () => {
    await bind('rega', '1001', 'udp', 3600, 2);
    await bind('rega', '1002', 'tcp', 3600);
    await bind('regb', '2001', 'udp', 20); // within 30 s of expiry: its refresh is late
    await bind('regb', '2002', 'sctp', 3600); // an unusual transport: `other`, no new label value
    const prober = new Prober({
      redis: h.redis, keys: keySchema(h.prefix), log: silentLogger(), metrics: createOpsMetrics(registry), cdrShards: 1,
      settings: { intervalMs: 1000, timeoutMs: 500, failuresToOpen: 2, engines: [], billingLagMaxS: 300, gateways: false, discoveryMs: 60_000, probeAccount: false, deepIntervalMs: 60_000 },
    });
    try {
      await prober.round();
    } finally {
      await prober.close();
    }
    expect(await value('registered', 'udp')).toBe(2);
    expect(await value('registered', 'tcp')).toBe(1);
    expect(await value('expiring', 'udp')).toBe(1);
    expect(await value('registered', 'other')).toBe(1);
    expect(await value('expiring', 'tls')).toBe(0);
    const labels = (await registry.getMetricsAsJSON()).find((x) => x.name === 'kumo_registrations')?.values.map((v) => v.labels.transport);
    expect(new Set(labels)).toEqual(new Set(['udp', 'tcp', 'tls', 'ws', 'wss', 'other']));
  });
});
