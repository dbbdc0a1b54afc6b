/**
 * Admission on live calls, end to end: sipp phones and a sipp carrier gateway, the in-process
 * engine, the sip app with the admitCall step backed by CallAdmission, real Redis.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { admissionSpec, readConfig } from '@kumo/config';
import { validateExtension, validateTenantCreate, validateTrunk, type Cdr } from '@kumo/domain';
import { createRegistry, silentLogger } from '@kumo/runtime';
import { AdmissionStore, CdrStreams, ProvisioningRepo, SYSTEM_ACTOR } from '@kumo/store';
import { freePort, runSipp, startSipp, uacCall, uasAnswer, type SippResult } from '@kumo/testkit';
import { admissionStep, createCallAdmission, type CallAdmission } from '@kumo/sip';
import { bindPhone } from '../helpers/bind-phone.js';
import { startStack, type Stack } from '../helpers/stack.js';

function ok<T>(v: { ok: true; value: T } | { ok: false; problems: readonly unknown[] }): T {
  if (!v.ok) throw new Error(JSON.stringify(v.problems));
  return v.value;
}
const explain = (r: SippResult): string => `sipp exit ${r.code}: ${r.errors.slice(0, 2000)} ${r.stderr.slice(0, 500)}`;

/**
 * A phone calling with digest auth. `expect` 200: answer, hold, BYE. Otherwise the final status,
 * optionally checking the `X-Kumo-Reason` value, the RFC 3326 Reason and that `Retry-After` is present.
 */
function uac(o: { user: string; domain: string; password: string; expect: number; holdMs?: number; reason?: string; retryAfter?: boolean }): string {
  const check: [string, string][] =
    o.reason === undefined
      ? []
      : [
          ['X-Kumo-Reason', o.reason],
          ['Reason', `SIP;cause=${o.expect};text=&quot;${o.reason}&quot;`],
          ...(o.retryAfter === false ? [] : ([['Retry-After', '[0-9]+']] as [string, string][])),
        ];
  return uacCall({ user: o.user, domain: o.domain, password: o.password, expect: o.expect, check, ...(o.holdMs !== undefined ? { holdMs: o.holdMs } : {}) });
}

/** A phone or gateway that answers every call and waits for the BYE. */
const UAS = uasAnswer(200, { ring: false });

describe('admission with sipp over udp', () => {
  const tenantId = 'adm-sipp';
  const domain = `${tenantId}.kumo.test`;
  const transport = 'udp';
  let s: Stack;
  let admission: CallAdmission;
  let store: AdmissionStore;
  let streams: CdrStreams;
  let gw = 0;
  const dir = mkdtempSync(join(tmpdir(), 'kumo-adm-'));
  let n = 0;
  const file = (xml: string): { file: string } => {
    const f = join(dir, `s${n++}.xml`);
    writeFileSync(f, xml);
    return { file: f };
  };

  beforeAll(async () => {
    const stackRef: { admission?: CallAdmission } = {};
    s = await startStack({
      redisUrl: inject('redisUrl'),
      calls: {
        cdrShards: 1,
        trunkSetupTimeoutSec: 2,
        trunkRingCapSec: 30,
        admitCall: (c) => admissionStep(stackRef.admission as CallAdmission, { burstSeconds: 2 })(c),
      },
    });
    const config = readConfig(
      { admission: admissionSpec },
      { KUMO_ADMISSION_FLOOD_ATTEMPTS: '10', KUMO_ADMISSION_FLOOD_MIN_COMPLETION_PERCENT: '30', KUMO_ADMISSION_OVERLOAD_LAG_MS: '0' },
    ).admission;
    admission = createCallAdmission({ redis: s.redis, keys: s.keys, config, log: silentLogger(), registry: createRegistry('sip') });
    stackRef.admission = admission;
    await admission.start();
    store = new AdmissionStore(s.redis, s.keys, { leaseTtlMs: 120_000, floodWindowMs: 60_000 });
    streams = new CdrStreams(s.redis, s.keys, 1);
    const repo = new ProvisioningRepo(s.redis, s.keys);
    await repo.createTenant(
      ok(validateTenantCreate({ id: tenantId, name: 'Adm', sipDomain: domain, ports: 100, trunkChannels: 10, callsPerSecond: 200 })),
      SYSTEM_ACTOR,
    );
    for (const number of ['1001', '1002', '1003', '1004']) {
      await repo.createExtension(tenantId, ok(validateExtension({ number, displayName: `User ${number}`, password: `pass${number}x`, permissionClass: 'mobile' })), SYSTEM_ACTOR);
    }
    gw = await freePort('127.0.0.2');
    await repo.createTrunk(
      tenantId,
      ok(validateTrunk({ id: 'carrier', name: 'Carrier', channelLimit: 10, numberFormat: 'national', callerId: '+81312340000', gateways: [{ host: '127.0.0.2', port: gw, transport, priority: 1 }] })),
      SYSTEM_ACTOR,
    );
  });
  afterAll(async () => {
    admission.close();
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function phone(ext: string, calls: number) {
    const port = await freePort();
    const h = startSipp({ scenario: file(UAS), transport, localPort: port, calls, timeoutS: 40 });
    await bindPhone(s, { tenantId, ext, port, transport });
    return h;
  }
  const me = (user: string, expect: number, extra: Partial<Parameters<typeof uac>[0]> = {}) => ({ user, domain, password: `pass${user}x`, expect, ...extra });

  async function cdrsFor(calleeDialled: string, count = 1): Promise<Cdr[]> {
    const key = streams.streamKey(streams.shardOf(tenantId));
    for (let i = 0; i < 100; i++) {
      const entries = await s.redis.xrange(key, '-', '+');
      const cdrs = entries.map(([, f]) => JSON.parse(f[1] as string) as Cdr).filter((c) => c.calleeDialled === calleeDialled);
      if (cdrs.length >= count) return cdrs;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`no CDR for ${calleeDialled}`);
  }
  const activeCalls = async () => (await store.counters(tenantId, { now: Date.now() })).activeCalls;

  it('ports=100: 100 held calls fill the tenant, the 101st gets 503 with Retry-After and X-Kumo-Reason, an emergency call still connects', async () => {
    const callee = await phone('1002', 100);
    const held = startSipp({
      scenario: file(uac(me('1001', 200, { holdMs: 6000 }))),
      target: s.sipTarget,
      transport,
      service: '1002',
      calls: 100,
      rate: 100,
      limit: 100,
      timeoutS: 40,
    });
    const t0 = Date.now();
    while ((await activeCalls()) < 100) {
      if (Date.now() - t0 > 15_000) throw new Error(`only ${await activeCalls()} calls up`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const refused = await runSipp({ scenario: file(uac(me('1003', 503, { reason: 'port-limit' }))), target: s.sipTarget, transport, service: '1002', calls: 1, timeoutS: 10 });
    expect(refused.ok, explain(refused)).toBe(true);

    const gateway = startSipp({ scenario: file(UAS), transport, localHost: '127.0.0.2', localPort: gw, calls: 1, timeoutS: 20 });
    const emergency = await runSipp({ scenario: file(uac(me('1004', 200))), target: s.sipTarget, transport, service: '119', calls: 1, timeoutS: 10 });
    expect(emergency.ok, explain(emergency)).toBe(true);
    expect((await gateway.done).ok).toBe(true);

    const h = await held.done;
    expect(h.ok, explain(h)).toBe(true);
    expect(h.successful).toBe(100);
    expect((await callee.done).ok).toBe(true);
    // every lease comes back once the sip side has finished tearing the calls down
    const t1 = Date.now();
    while ((await activeCalls()) > 0 && Date.now() - t1 < 3000) await new Promise((r) => setTimeout(r, 50));
    expect(await activeCalls()).toBe(0);

    const [rejected] = (await cdrsFor('1002', 101)).filter((c) => c.callerExtension === '1003');
    expect(rejected).toMatchObject({ disposition: 'rejected', finalStatus: 503, rejectionReason: 'port-limit' });
    expect((await cdrsFor('119'))[0]).toMatchObject({ direction: 'emergency', disposition: 'answered' });
    await s.app.location.unregister(tenantId, '1002');
  });

  it('outbound trunk channels: 10 held calls fill the trunk, the 11th fails over to nothing (503), emergency uses the reserve', async () => {
    const gateway = startSipp({ scenario: file(UAS), transport, localHost: '127.0.0.2', localPort: gw, calls: 11, timeoutS: 30 });
    const held = startSipp({
      scenario: file(uac(me('1001', 200, { holdMs: 4000 }))),
      target: s.sipTarget,
      transport,
      service: '00312345678',
      calls: 10,
      rate: 50,
      limit: 10,
      timeoutS: 30,
    });
    const trunkInUse = async () => (await store.counters(tenantId, { trunkId: 'carrier', now: Date.now() })).trunkChannels;
    const t0 = Date.now();
    while ((await trunkInUse()) < 10) {
      if (Date.now() - t0 > 10_000) throw new Error(`only ${await trunkInUse()} trunk channels in use`);
      await new Promise((r) => setTimeout(r, 100));
    }
    // The trunk is full: 503 with Reason, X-Kumo-Reason: trunk-channels and Retry-After (issue 12 item 8).
    const full = await runSipp({ scenario: file(uac(me('1002', 503, { reason: 'trunk-channels' }))), target: s.sipTarget, transport, service: '00312345679', calls: 1, timeoutS: 10 });
    expect(full.ok, explain(full)).toBe(true);
    const emergency = await runSipp({ scenario: file(uac(me('1004', 200))), target: s.sipTarget, transport, service: '110', calls: 1, timeoutS: 10 });
    expect(emergency.ok, explain(emergency)).toBe(true);
    const h = await held.done;
    expect(h.ok, explain(h)).toBe(true);
    expect((await gateway.done).ok).toBe(true);
    const t1 = Date.now();
    while ((await trunkInUse()) > 0 && Date.now() - t1 < 3000) await new Promise((r) => setTimeout(r, 50));
    expect(await trunkInUse()).toBe(0);
    expect((await cdrsFor('00312345679'))[0]).toMatchObject({ direction: 'outbound', finalStatus: 503 });
  });

  it('suspension mid-day and a tenant restriction level apply from the next call; a call in progress and emergency calls go on', async () => {
    const repo = new ProvisioningRepo(s.redis, s.keys);
    const callee = await phone('1002', 1);
    const inProgress = startSipp({ scenario: file(uac(me('1001', 200, { holdMs: 3000 }))), target: s.sipTarget, transport, service: '1002', calls: 1, timeoutS: 20 });
    const t0 = Date.now();
    while ((await activeCalls()) < 1) {
      if (Date.now() - t0 > 10_000) throw new Error('call not up');
      await new Promise((r) => setTimeout(r, 50));
    }
    try {
      await repo.setTenantStatus(tenantId, 'suspended', SYSTEM_ACTOR);
      const refused = await runSipp({
        scenario: file(uac(me('1003', 403, { reason: 'tenant-suspended', retryAfter: false }))),
        target: s.sipTarget,
        transport,
        service: '1002',
        calls: 1,
        timeoutS: 10,
      });
      expect(refused.ok, explain(refused)).toBe(true);
      const gateway = startSipp({ scenario: file(UAS), transport, localHost: '127.0.0.2', localPort: gw, calls: 1, timeoutS: 20 });
      const emergency = await runSipp({ scenario: file(uac(me('1004', 200))), target: s.sipTarget, transport, service: '119', calls: 1, timeoutS: 10 });
      expect(emergency.ok, explain(emergency)).toBe(true);
      expect((await gateway.done).ok).toBe(true);
    } finally {
      await repo.setTenantStatus(tenantId, 'active', SYSTEM_ACTOR);
    }
    const held = await inProgress.done;
    expect(held.ok, explain(held)).toBe(true);
    expect((await callee.done).ok).toBe(true);
    // the operator restricts this tenant (level 3): its next outgoing call is refused at once
    await repo.updateTenant(tenantId, { restrictionLevel: 3 }, SYSTEM_ACTOR);
    try {
      const restricted = await runSipp({ scenario: file(uac(me('1001', 503, { reason: 'restricted' }))), target: s.sipTarget, transport, service: '00312345670', calls: 1, timeoutS: 10 });
      expect(restricted.ok, explain(restricted)).toBe(true);
    } finally {
      await repo.updateTenant(tenantId, { restrictionLevel: 0 }, SYSTEM_ACTOR);
    }
    expect((await cdrsFor('00312345670'))[0]).toMatchObject({ disposition: 'rejected', rejectionReason: 'restricted' });
    await s.app.location.unregister(tenantId, '1002');
  });

  it("an incomplete-call flood (calls to a number that never answers) is throttled while the tenant's other extensions keep calling", async () => {
    // 1004 is not registered: every call ends 480 (incomplete)
    const flood = await runSipp({ scenario: file(uac(me('1003', 480))), target: s.sipTarget, transport, service: '1004', calls: 11, rate: 20, limit: 1, timeoutS: 20 });
    expect(flood.ok, explain(flood)).toBe(true);
    const throttled = await runSipp({
      scenario: file(uac(me('1003', 503, { reason: 'incomplete-call-flood' }))),
      target: s.sipTarget,
      transport,
      service: '1004',
      calls: 3,
      rate: 20,
      limit: 1,
      timeoutS: 20,
    });
    expect(throttled.ok, explain(throttled)).toBe(true);
    // another extension of the same tenant is not affected
    const callee = await phone('1002', 1);
    const other = await runSipp({ scenario: file(uac(me('1001', 200))), target: s.sipTarget, transport, service: '1002', calls: 1, timeoutS: 10 });
    expect(other.ok, explain(other)).toBe(true);
    expect((await callee.done).ok).toBe(true);
    const events = await store.readEvents(tenantId);
    expect(events.find((e) => e.type === 'incomplete-call-flood')?.fields).toMatchObject({ source: 'ext:1003' });
    expect((await cdrsFor('1004', 14)).filter((c) => c.rejectionReason === 'incomplete-call-flood')).toHaveLength(3);
    await s.app.location.unregister(tenantId, '1002');
  });
});
