/**
 * Overload, end to end: sipp phones calling through the in-process engine and sip app (with
 * admission and its overload detector) at twice the measured capacity, plus one emergency call
 * per second to a sipp carrier gateway.
 *
 *   npx tsc -b && KUMO_BENCH_OVL_S=60 npx vitest run --config loadtest/overload/vitest.config.ts overload.bench
 *
 * Env: KUMO_BENCH_OVL_S (default 20, the issue asks for 60) seconds of overload;
 * KUMO_BENCH_OVL_CAPACITY_CALLS (default 1000) calls of the closed-loop capacity run (100 in flight).
 *
 * Figures (from the CDR stream, server side): the share of admitted normal calls that
 * completed (answered and hung up normally), the share of emergency calls that connected, the
 * refusals by reason, and the event-loop delay of the process during the overload.
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admissionSpec, readConfig } from '@kumo/config';
import { validateExtension, validateTenantCreate, validateTrunk, type Cdr } from '@kumo/domain';
import { createRegistry, silentLogger } from '@kumo/runtime';
import { CdrStreams, ProvisioningRepo, SYSTEM_ACTOR } from '@kumo/store';
import { freePort, runSipp, startRedis, startSipp, uacCall, uasAnswer, type RedisHandle } from '@kumo/testkit';
import { admissionStep, createCallAdmission, overloadGateStep, type CallAdmission } from '@kumo/sip';
import { bindPhone } from '../../packages/sip/test/helpers/bind-phone.js';
import { startStack, type Stack } from '../../packages/sip/test/helpers/stack.js';

const OVERLOAD_S = Math.min(120, Number(process.env.KUMO_BENCH_OVL_S ?? 20));
const CAPACITY_CALLS = Math.min(5000, Number(process.env.KUMO_BENCH_OVL_CAPACITY_CALLS ?? 1000));
const results: Record<string, unknown> = { loadavgAtStart: loadavg().map((x) => Number(x.toFixed(2))), overloadSeconds: OVERLOAD_S };

/** Digest-authenticated call: answered → short hold → BYE; a 503/403 refusal is ACKed and ends the call. */
const uac = (user: string, domain: string, holdMs: number): string =>
  uacCall({ user, domain, password: `pass${user}x`, expect: 200, holdMs, refusals: [503, 403] });

const UAS = uasAnswer(200);

const tenantId = 'ovl';
const domain = 'ovl.kumo.test';
let redisH: RedisHandle;
let s: Stack;
let admission: CallAdmission;
let streams: CdrStreams;
let gw = 0;
const registry = createRegistry('bench');
const dir = mkdtempSync(join(tmpdir(), 'kumo-ovl-'));
let n = 0;
const file = (xml: string): { file: string } => {
  const f = join(dir, `s${n++}.xml`);
  writeFileSync(f, xml);
  return { file: f };
};

beforeAll(async () => {
  redisH = await startRedis({ settings: { appendonly: 'yes', appendfsync: 'everysec' } });
  const ref: { a?: CallAdmission } = {};
  s = await startStack({
    redisUrl: redisH.url,
    calls: {
      cdrShards: 1,
      trunkSetupTimeoutSec: 5,
      trunkRingCapSec: 30,
      admitCall: (c) => admissionStep(ref.a as CallAdmission, { burstSeconds: 2 })(c),
      overloadGate: (c) => overloadGateStep(ref.a as CallAdmission)(c),
    },
  });
  const config = readConfig({ admission: admissionSpec }, { KUMO_ADMISSION_FLOOD_ATTEMPTS: '1000000' }).admission;
  admission = createCallAdmission({ redis: s.redis, keys: s.keys, config, log: silentLogger(), registry });
  ref.a = admission;
  await admission.start();
  streams = new CdrStreams(s.redis, s.keys, 1);
  const repo = new ProvisioningRepo(s.redis, s.keys);
  await repo.createTenant(validOk(validateTenantCreate({ id: tenantId, name: 'Ovl', sipDomain: domain, ports: 20000, trunkChannels: 1000, callsPerSecond: 1000 })), SYSTEM_ACTOR);
  for (const number of ['1001', '1002', '1004']) {
    await repo.createExtension(tenantId, validOk(validateExtension({ number, displayName: `User ${number}`, password: `pass${number}x`, permissionClass: 'mobile' })), SYSTEM_ACTOR);
  }
  gw = await freePort('127.0.0.2');
  await repo.createTrunk(
    tenantId,
    validOk(validateTrunk({ id: 'carrier', name: 'Carrier', channelLimit: 1000, numberFormat: 'national', callerId: '+81312340000', gateways: [{ host: '127.0.0.2', port: gw, transport: 'udp', priority: 1 }] })),
    SYSTEM_ACTOR,
  );
});

afterAll(async () => {
  admission.close();
  await new Promise((r) => setTimeout(r, 500)); // let in-flight admission commands settle before the client goes
  await s.close();
  await redisH.stop();
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(new URL('../results/', import.meta.url), { recursive: true });
  writeFileSync(new URL('../results/overload.json', import.meta.url), `${JSON.stringify({ at: new Date().toISOString(), ...results }, null, 2)}\n`);
});

function validOk<T>(v: { ok: true; value: T } | { ok: false; problems: readonly unknown[] }): T {
  if (!v.ok) throw new Error(JSON.stringify(v.problems));
  return v.value;
}

/** Admission decisions by outcome/reason/priority from this process's metrics. */
async function decisions(): Promise<Record<string, number>> {
  const m = (await registry.getSingleMetric('kumo_admission_decisions_total')?.get())?.values ?? [];
  const out: Record<string, number> = {};
  for (const v of m) out[`${String(v.labels.outcome)}/${String(v.labels.reason)}/${String(v.labels.priority)}`] = v.value;
  return out;
}

async function cdrs(): Promise<Cdr[]> {
  const entries = await s.redis.xrange(streams.streamKey(streams.shardOf(tenantId)), '-', '+');
  return entries.map(([, f]) => JSON.parse(f[1] as string) as Cdr);
}

const ADMISSION_REASONS = new Set(['overload', 'rate-limit', 'port-limit', 'trunk-channels', 'restricted', 'tenant-suspended', 'incomplete-call-flood', 'admission-unavailable']);

describe('overload at twice the capacity', () => {
  it('admitted calls complete, emergency calls connect, the process stays responsive', async () => {
    const phonePort = await freePort();
    const callee = startSipp({ scenario: file(UAS), transport: 'udp', localPort: phonePort, calls: 1_000_000, timeoutS: OVERLOAD_S + 240 });
    await bindPhone(s, { tenantId, ext: '1002', port: phonePort, transport: 'udp', expires: 3600 });

    // 1. capacity: closed loop, 100 calls in flight, no hold (CPU-bound, not latency-bound)
    const cap = await runSipp({ scenario: file(uac('1001', domain, 0)), target: s.sipTarget, transport: 'udp', service: '1002', calls: CAPACITY_CALLS, rate: 10_000, limit: 100, timeoutS: 120 });
    const capacity = Math.max(1, Math.floor(cap.successful / (cap.durationMs / 1000)));
    results.capacityCallsPerS = capacity;
    results.capacityRun = { successful: cap.successful, failed: cap.failed, seconds: Number((cap.durationMs / 1000).toFixed(1)) };
    await s.redis.del(streams.streamKey(streams.shardOf(tenantId)));
    await new Promise((r) => setTimeout(r, 2000));

    const before = await decisions();
    // 2. overload: open loop at 2x capacity, plus 1 emergency call per second
    const lag = monitorEventLoopDelay({ resolution: 10 });
    lag.enable();
    const gateway = startSipp({ scenario: file(UAS), transport: 'udp', localHost: '127.0.0.2', localPort: gw, calls: OVERLOAD_S, timeoutS: OVERLOAD_S + 120 });
    const offered = 2 * capacity * OVERLOAD_S;
    const [load, emergency] = await Promise.all([
      runSipp({ scenario: file(uac('1001', domain, 200)), target: s.sipTarget, transport: 'udp', service: '1002', calls: offered, rate: 2 * capacity, limit: 5000, timeoutS: OVERLOAD_S + 120 }),
      runSipp({ scenario: file(uac('1004', domain, 200)), target: s.sipTarget, transport: 'udp', service: '119', calls: OVERLOAD_S, rate: 1, limit: 100, timeoutS: OVERLOAD_S + 120 }),
    ]);
    lag.disable();
    await gateway.done;
    await new Promise((r) => setTimeout(r, 2000));
    await callee.stop();

    const after = await decisions();
    const delta: Record<string, number> = {};
    for (const [k, v] of Object.entries(after)) if (v - (before[k] ?? 0) > 0) delta[k] = v - (before[k] ?? 0);
    results.admissionDecisions = delta;
    const all = await cdrs();
    const normal = all.filter((c) => c.calleeDialled === '1002');
    const refused = normal.filter((c) => c.rejectionReason !== null && ADMISSION_REASONS.has(c.rejectionReason));
    const admitted = normal.filter((c) => !(c.rejectionReason !== null && ADMISSION_REASONS.has(c.rejectionReason)));
    const completed = admitted.filter((c) => c.disposition === 'answered');
    const em = all.filter((c) => c.calleeDialled === '119');
    const byReason: Record<string, number> = {};
    for (const c of refused) byReason[c.rejectionReason as string] = (byReason[c.rejectionReason as string] ?? 0) + 1;
    Object.assign(results, {
      offeredCalls: offered,
      offeredRate: 2 * capacity,
      sippLoad: { successful: load.successful, failed: load.failed, seconds: Number((load.durationMs / 1000).toFixed(1)) },
      cdrsNormal: normal.length,
      admitted: admitted.length,
      completed: completed.length,
      completedShareOfAdmitted: admitted.length > 0 ? Number((completed.length / admitted.length).toFixed(4)) : null,
      admittedPerS: Number((admitted.length / (load.durationMs / 1000)).toFixed(1)),
      admittedRatioToCapacity: Number((admitted.length / (load.durationMs / 1000) / capacity).toFixed(3)),
      refusedByReason: byReason,
      emergencyOffered: OVERLOAD_S,
      emergencyConnected: em.filter((c) => c.disposition === 'answered').length,
      emergencySipp: { successful: emergency.successful, failed: emergency.failed, errors: emergency.errors.slice(0, 1500) },
      emergencyNotAnswered: em.filter((c) => c.disposition !== 'answered').map((c) => ({ status: c.finalStatus, disposition: c.disposition, reason: c.rejectionReason })),
      eventLoopDelayP99ms: Number((lag.percentile(99) / 1e6).toFixed(1)),
      eventLoopDelayMaxMs: Number((lag.max / 1e6).toFixed(1)),
    });
    process.stdout.write(`overload bench: ${JSON.stringify(results)}\n`);
    expect(em.filter((c) => c.disposition === 'answered').length).toBe(OVERLOAD_S);
    expect(completed.length / Math.max(1, admitted.length)).toBeGreaterThanOrEqual(0.95);
  });
});
