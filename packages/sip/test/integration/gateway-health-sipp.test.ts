/**
 * Trunk gateway health (issue 12 item 9): Kumo pings every trunk gateway with OPTIONS; a gateway that
 * does not answer is marked down and routing skips it (no per-call setup timeout), and it comes back
 * when it answers. sipp as the carrier's gateways, Kumo's engine, the sip app, real Redis.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createRegistry, createTrunkMetrics } from '@kumo/runtime';
import { gatewayIdentity, validateExtension, validateTenantCreate, validateTrunk } from '@kumo/domain';
import { GatewayHealthStore, ProvisioningRepo, SYSTEM_ACTOR } from '@kumo/store';
import { freePort, gatewayUas, optionsPing, runSipp, startSipp, uacCall, type SippHandle, type SippResult } from '@kumo/testkit';
import { startStack, type Stack } from '../helpers/stack.js';

function ok<T>(v: { ok: true; value: T } | { ok: false; problems: readonly unknown[] }): T {
  if (!v.ok) throw new Error(JSON.stringify(v.problems));
  return v.value;
}
const explain = (r: SippResult): string => `sipp exit ${r.code}: ${r.errors.slice(0, 2000)} ${r.stderr.slice(0, 500)}`;

describe('trunk gateway health by OPTIONS', () => {
  const tenantId = 'gwhealth';
  const domain = 'gwhealth.kumo.test';
  let s: Stack;
  let health: GatewayHealthStore;
  const gw = { a: { host: '127.0.0.6', port: 0 }, b: { host: '127.0.0.7', port: 0 } };
  const sipps: SippHandle[] = [];
  const registry = createRegistry('gw-health-test');
  const dir = mkdtempSync(join(tmpdir(), 'kumo-gwhealth-'));
  let n = 0;
  const file = (xml: string): { file: string } => {
    const f = join(dir, `s${n++}.xml`);
    writeFileSync(f, xml);
    return { file: f };
  };
  const id = (g: { host: string; port: number }) => gatewayIdentity({ ...g, transport: 'udp' });
  const gateway = (g: { host: string; port: number }) => {
    const h = startSipp({ scenario: file(gatewayUas()), localHost: g.host, localPort: g.port, calls: 10_000, timeoutS: 60 });
    sipps.push(h);
    return h;
  };
  async function until(what: string, f: () => Promise<boolean>): Promise<void> {
    const t0 = Date.now();
    while (!(await f())) {
      if (Date.now() - t0 > 8000) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  const state = async (g: { host: string; port: number }) => (await health.read([id(g)])).get(id(g))?.state;

  beforeAll(async () => {
    s = await startStack({
      redisUrl: inject('redisUrl'),
      // A long setup timeout: a call that tried the dead gateway first would outlast the caller's sipp.
      calls: { cdrShards: 1, trunkSetupTimeoutSec: 10, trunkRingCapSec: 30, gatewayHealth: { intervalMs: 200, timeoutMs: 300, downAfter: 2, metrics: createTrunkMetrics(registry) } },
    });
    health = new GatewayHealthStore(s.redis, s.keys);
    const repo = new ProvisioningRepo(s.redis, s.keys);
    await repo.createTenant(ok(validateTenantCreate({ id: tenantId, name: 'GW', sipDomain: domain, ports: 100, trunkChannels: 10, callsPerSecond: 50 })), SYSTEM_ACTOR);
    await repo.createExtension(tenantId, ok(validateExtension({ number: '1001', password: 'pass1001x', permissionClass: 'national' })), SYSTEM_ACTOR);
    gw.a.port = await freePort(gw.a.host);
    gw.b.port = await freePort(gw.b.host);
    await repo.createTrunk(
      tenantId,
      ok(
        validateTrunk({
          id: 'carrier',
          name: 'Carrier',
          channelLimit: 10,
          callerId: '+81312340000',
          gateways: [
            { ...gw.a, transport: 'udp', priority: 1 },
            { ...gw.b, transport: 'udp', priority: 2 },
          ],
        }),
      ),
      SYSTEM_ACTOR,
    );
  });
  afterAll(async () => {
    await Promise.all(sipps.map((h) => h.stop()));
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a gateway that does not answer OPTIONS is marked down and skipped; the call goes to the next one at once', async () => {
    gateway(gw.b);
    await until('gateway A down, B up', async () => (await state(gw.a)) === 'down' && (await state(gw.b)) === 'up');
    const started = Date.now();
    const r = await runSipp({ scenario: file(uacCall({ user: '1001', domain, password: 'pass1001x', expect: 200 })), target: s.sipTarget, service: '00312345678', calls: 1, timeoutS: 6 });
    expect(r.ok, explain(r)).toBe(true);
    expect(Date.now() - started).toBeLessThan(6000);
    expect((await health.read([id(gw.a)])).get(id(gw.a))).toMatchObject({ state: 'down' });
    await until('metrics', async () => /kumo_trunk_gateways\{tenant="gwhealth",trunk="carrier",state="down"[^}]*\} 1/.test(await registry.metrics()));
  });

  it('it comes back when it answers again', async () => {
    gateway(gw.a);
    await until('gateway A up', async () => (await state(gw.a)) === 'up');
    expect((await health.read([id(gw.a)])).get(id(gw.a))).toMatchObject({ state: 'up', failures: 0, lastStatus: 200 });
  });

  it("the carrier's own OPTIONS ping, from its gateway's address, is answered 200 with Allow", async () => {
    const r = await runSipp({
      scenario: file(optionsPing({ user: 'ping', domain: gw.b.host, allow: 'INVITE.*OPTIONS' })),
      target: s.sipTarget,
      localHost: gw.b.host,
      calls: 1,
      timeoutS: 6,
    });
    expect(r.ok, explain(r)).toBe(true);
  });
});
