/**
 * Registration-based trunks (issue 12 item 9): Kumo registers to a sipp carrier that challenges the
 * REGISTER (401) and every INVITE (407); an outside call goes out through it with the credentials; a
 * carrier that does not answer puts the trunk in `failed` with a growing backoff.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { validateExtension, validateTenantCreate, validateTrunk } from '@kumo/domain';
import { randomBytes } from 'node:crypto';
import { createRegistry, createTrunkMetrics } from '@kumo/runtime';
import { ProvisioningRepo, SYSTEM_ACTOR, SiteRepo, TrunkRegistrationStore, secretBox, type TrunkRegistrationState } from '@kumo/store';
import { carrierRegistrar, freePort, runSipp, startSipp, uacCall, type SippHandle, type SippResult } from '@kumo/testkit';
import { startStack, type Stack } from '../helpers/stack.js';

function ok<T>(v: { ok: true; value: T } | { ok: false; problems: readonly unknown[] }): T {
  if (!v.ok) throw new Error(JSON.stringify(v.problems));
  return v.value;
}
const explain = (r: SippResult): string => `sipp exit ${r.code}: ${r.errors.slice(0, 2000)} ${r.stderr.slice(0, 500)}`;

describe('registration-based trunk against a sipp carrier', () => {
  const tenantId = 'regtrunk';
  const domain = 'regtrunk.kumo.test';
  let s: Stack;
  let store: TrunkRegistrationStore;
  let repo: ProvisioningRepo;
  let carrier: SippHandle;
  const dir = mkdtempSync(join(tmpdir(), 'kumo-regtrunk-'));
  let n = 0;
  const file = (xml: string): { file: string } => {
    const f = join(dir, `s${n++}.xml`);
    writeFileSync(f, xml);
    return { file: f };
  };
  async function until(what: string, f: () => Promise<TrunkRegistrationState | undefined>, pred: (s: TrunkRegistrationState) => boolean): Promise<TrunkRegistrationState> {
    const t0 = Date.now();
    for (;;) {
      const v = await f();
      if (v && pred(v)) return v;
      if (Date.now() - t0 > 10_000) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  // The trunk password is sealed at rest (KUMO_SECRET_KEY): the api seals, the sip app opens.
  const secretKey = randomBytes(32);
  const registry = createRegistry('trunk-reg-test');
  beforeAll(async () => {
    s = await startStack({
      redisUrl: inject('redisUrl'),
      secretKey,
      calls: { cdrShards: 1, trunkSetupTimeoutSec: 5, trunkRingCapSec: 30, trunkRegistration: { checkMs: 100, timeoutMs: 700, retryBaseMs: 300, retryMaxMs: 1200, metrics: createTrunkMetrics(registry) } },
    });
    store = new TrunkRegistrationStore(s.redis, s.keys);
    repo = new ProvisioningRepo(s.redis, s.keys).useSecrets(secretBox(secretKey));
    await repo.createTenant(ok(validateTenantCreate({ id: tenantId, name: 'Reg', sipDomain: domain, ports: 100, trunkChannels: 10, callsPerSecond: 50 })), SYSTEM_ACTOR);
    await repo.createExtension(tenantId, ok(validateExtension({ number: '1001', password: 'pass1001x', permissionClass: 'national' })), SYSTEM_ACTOR);
  });
  afterAll(async () => {
    await carrier?.stop();
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('Kumo registers (answering the 401), refreshes, and its outside calls answer the carrier’s 407', async () => {
    const port = await freePort('127.0.0.8');
    carrier = startSipp({ scenario: file(carrierRegistrar({ username: 'kumo-trunk', realm: 'carrier.test', expiresSec: 2 })), localHost: '127.0.0.8', localPort: port, calls: 1000, timeoutS: 60 });
    await repo.createTrunk(
      tenantId,
      ok(
        validateTrunk({
          id: 'reg',
          name: 'Registered',
          channelLimit: 5,
          callerId: '+81312340000',
          gateways: [{ host: '127.0.0.8', port, transport: 'udp' }],
          registration: { username: 'kumo-trunk', password: 'trunk-secret', realm: 'carrier.test', expiresSec: 60 },
        }),
      ),
      SYSTEM_ACTOR,
    );
    expect(await s.redis.get(s.keys.tenant.trunk(tenantId, 'reg'))).not.toContain('trunk-secret');
    const first = await until('registered', () => store.get(tenantId, 'reg'), (r) => r.state === 'registered');
    // The carrier granted 2 s: Kumo refreshes at 80 % of that, before the binding expires.
    expect(first).toMatchObject({ state: 'registered', lastStatus: 200, failures: 0 });
    expect((first.expiresAt ?? 0) - (first.lastAttemptAt ?? 0)).toBe(2000);
    const refreshed = await until('refreshed', () => store.get(tenantId, 'reg'), (r) => (r.lastAttemptAt ?? 0) > (first.lastAttemptAt ?? 0));
    expect(refreshed.lastAttemptAt).toBeLessThan(first.expiresAt ?? 0);
    expect(refreshed.state).toBe('registered');

    const r = await runSipp({ scenario: file(uacCall({ user: '1001', domain, password: 'pass1001x', expect: 200 })), target: s.sipTarget, service: '00312345678', calls: 1, timeoutS: 10 });
    expect(r.ok, explain(r)).toBe(true);

    // Made a site's local line, the trunk is the site branch's to register (docs/branch.md): the cloud stops (its
    // state is dropped, no REGISTER refreshes it any more); without the site it registers again.
    const sites = new SiteRepo(s.redis, s.keys, repo);
    await sites.create(tenantId, { id: 'hq', name: 'HQ', extensions: ['1001'], ringGroups: [], pickupGroups: [], trunkId: 'reg' });
    await until('left to the branch', async () => (await store.get(tenantId, 'reg')) ?? ({ state: 'gone' } as unknown as TrunkRegistrationState), (x) => (x.state as string) === 'gone');
    await new Promise((res) => setTimeout(res, 2500)); // longer than the 2 s the carrier grants: a refresh would be due
    expect(await store.get(tenantId, 'reg')).toBeUndefined();
    await sites.delete(tenantId, 'hq');
    await until('registered again', () => store.get(tenantId, 'reg'), (x) => x.state === 'registered');
  });

  it('a carrier that does not answer: failed, retried with a doubling backoff', async () => {
    const dead = await freePort('127.0.0.9');
    await repo.createTrunk(
      tenantId,
      ok(validateTrunk({ id: 'dead', name: 'Dead', channelLimit: 1, gateways: [{ host: '127.0.0.9', port: dead }], registration: { username: 'x', password: 'y', expiresSec: 60 } })),
      SYSTEM_ACTOR,
    );
    const one = await until('failed once', () => store.get(tenantId, 'dead'), (r) => r.state === 'failed');
    expect(one.nextAt - (one.lastAttemptAt ?? 0)).toBe(300);
    const two = await until('failed twice', () => store.get(tenantId, 'dead'), (r) => r.failures >= 2);
    expect(two.nextAt - (two.lastAttemptAt ?? 0)).toBe(600);
    const text = await registry.metrics();
    expect(text).toMatch(/kumo_trunk_registered\{tenant="regtrunk",trunk="reg"[^}]*\} 1/);
    expect(text).toMatch(/kumo_trunk_registered\{tenant="regtrunk",trunk="dead"[^}]*\} 0/);
  });
});
