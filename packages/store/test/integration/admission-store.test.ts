import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  admitCall,
  DEFAULT_ADMISSION_POLICY,
  isAdmissionPlan,
  planAdmission,
  type AdmissionPlan,
  type AdmissionPolicy,
  type AdmissionRequest,
  type AdmissionDecision,
} from '@kumo/domain';
import { AdmissionStore, createRedis, keySchema, type KeySchema, type RedisClient } from '@kumo/store';
import { uniquePrefix } from '@kumo/testkit';

const POLICY: AdmissionPolicy = {
  ...DEFAULT_ADMISSION_POLICY,
  flood: { windowMs: 10_000, attemptThreshold: 5, minCompletionRatio: 0.4, coolingMs: 7_000, rejectStatus: 503 },
};
const NOW = 1_800_000_000_000;

const baseReq = (o: Partial<AdmissionRequest> = {}): AdmissionRequest => ({
  status: 'active',
  contract: { ports: 100, callsPerSecond: 10, burst: 10 },
  direction: 'outbound',
  priority: 'normal',
  source: 'ext:201',
  restriction: { platform: 0, tenant: 0 },
  sample: 0.5,
  overloaded: false,
  ...o,
});

/** The policy with the flood guard out of the way (tests of other rules). */
const NOFLOOD: AdmissionPolicy = { ...POLICY, flood: { ...POLICY.flood, attemptThreshold: 1e9 } };

function planOf(r: AdmissionRequest, policy = POLICY): AdmissionPlan {
  const p = planAdmission(r, policy);
  if (!isAdmissionPlan(p)) throw new Error(`not a plan: ${JSON.stringify(p)}`);
  return p;
}

const outcome = (d: AdmissionDecision | { admit: boolean; reason?: string; status?: number; retryAfter?: number }): string =>
  d.admit ? 'admit' : `${d.status} ${d.reason} ra=${d.retryAfter}`;

/** A tiny deterministic PRNG so the conformance cases are the same on every run. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

let redis: RedisClient;
let redis2: RedisClient;
let keys: KeySchema;
let store: AdmissionStore;

beforeAll(() => {
  redis = createRedis(inject('redisUrl'));
  redis2 = createRedis(inject('redisUrl'));
  keys = keySchema(uniquePrefix('adm'));
  store = new AdmissionStore(redis, keys, { leaseTtlMs: 60_000, floodWindowMs: POLICY.flood.windowMs });
});
afterAll(() => {
  redis.disconnect();
  redis2.disconnect();
});

describe('ADMIT script agrees with the pure admitCall', () => {
  it('on 400 generated states', async () => {
    const rnd = lcg(42);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
    const k = keys.tenant;
    const seen = new Set<string>();
    for (let i = 0; i < 400; i++) {
      const tenantId = `conf${i}`;
      const now = NOW + i * 100_000;
      const req = baseReq({
        contract: { ports: 3, callsPerSecond: pick([0, 0.5, 2, 10]), burst: pick([1, 2, 3]), ...(rnd() < 0.5 ? { trunkChannels: 3 } : {}) },
        direction: pick(['outbound', 'internal', 'inbound'] as const),
        priority: pick(['normal', 'normal', 'priority', 'emergency'] as const),
        ...(rnd() < 0.6 ? { trunk: { trunkId: 'tr1', channels: 2 } } : {}),
      });
      // state
      const active = Math.floor(rnd() * 5);
      const onTrunk = Math.floor(rnd() * 4);
      const pipe = redis.multi();
      for (let c = 0; c < active; c++) pipe.zadd(k.admissionCalls(tenantId), now + 5_000, `held${c}`);
      pipe.zadd(k.admissionCalls(tenantId), now - 1, 'expired-one'); // must not count
      for (let c = 0; c < onTrunk; c++) pipe.zadd(k.admissionTrunk(tenantId, 'tr1'), now + 5_000, `held${c}`);
      const onOtherTrunks = Math.floor(rnd() * 3);
      for (let c = 0; c < onTrunk + onOtherTrunks; c++) pipe.zadd(k.admissionTrunkCalls(tenantId), now + 5_000, `held${c}`);
      pipe.zadd(k.admissionTrunkCalls(tenantId), now - 1, 'expired-one');
      if (rnd() < 0.7) pipe.hset(k.admissionBucket(tenantId), 'tokens', String(rnd() * 2.5), 'ts', String(now - Math.floor(rnd() * 800)));
      const attempts = Math.floor(rnd() * 9);
      const completions = Math.floor(rnd() * (attempts + 1));
      for (let c = 0; c < attempts; c++) pipe.zadd(k.admissionFloodAttempts(tenantId, 'ext:201'), now - Math.floor(rnd() * 9_999), `a${c}`);
      pipe.zadd(k.admissionFloodAttempts(tenantId, 'ext:201'), now - 10_000, 'too-old');
      for (let c = 0; c < completions; c++) pipe.zadd(k.admissionFloodCompletions(tenantId, 'ext:201'), now - Math.floor(rnd() * 9_999), `a${c}`);
      if (rnd() < 0.2) pipe.set(k.admissionFloodUntil(tenantId, 'ext:201'), String(now + Math.floor(rnd() * 4000) - 2000));
      await pipe.exec();

      const counters = await store.counters(tenantId, { trunkId: 'tr1', source: 'ext:201', now });
      expect(counters.activeCalls).toBe(active);
      const want = admitCall(req, counters, now, POLICY);
      const plan = planOf(req);
      const got = await store.admit(tenantId, `call-${i}`, plan, now);
      expect(outcome(got), `case ${i}: ${JSON.stringify({ req, counters })}`).toBe(outcome(want));
      if (want.admit && want.lease.bucket) {
        const b = await redis.hmget(k.admissionBucket(tenantId), 'tokens', 'ts');
        expect(Number(b[0])).toBeCloseTo(want.lease.bucket.tokens, 9);
        expect(Number(b[1])).toBe(want.lease.bucket.updatedAt);
      }
      if (!want.admit) expect(got.admit === false && got.floodTripped !== undefined).toBe(want.floodTripped !== undefined);
      seen.add(outcome(want).replace(/ ra=.*/, ''));
    }
    // the generator reaches every counter rule
    expect([...seen].sort()).toEqual(['503 incomplete-call-flood', '503 port-limit', '503 rate-limit', '503 trunk-channels', 'admit']);
  });
});

describe('AdmissionStore leases', () => {
  it('1,000 concurrent attempts from two clients never overshoot ports or trunk channels', async () => {
    const s1 = new AdmissionStore(redis, keys, { leaseTtlMs: 60_000, floodWindowMs: 10_000 });
    const s2 = new AdmissionStore(redis2, keys, { leaseTtlMs: 60_000, floodWindowMs: 10_000 });
    const ports = planOf(baseReq({ contract: { ports: 100, callsPerSecond: 0, burst: 1 } }), NOFLOOD);
    const trunk = planOf(baseReq({ contract: { ports: 1000, callsPerSecond: 0, burst: 1 }, trunk: { trunkId: 'tr', channels: 37 } }), NOFLOOD);
    // both clients fire in small interleaved batches, as two sip processes under load would
    const run = async (tenantId: string, plan: AdmissionPlan) => {
      const all: Promise<Awaited<ReturnType<AdmissionStore['admit']>>>[] = [];
      for (let batch = 0; batch < 100; batch++) {
        for (let j = 0; j < 10; j++) {
          const i = batch * 10 + j;
          all.push((i % 2 === 0 ? s1 : s2).admit(tenantId, `c${i}`, plan));
        }
        await new Promise((r) => setImmediate(r));
      }
      return Promise.all(all);
    };
    const [a, b] = await Promise.all([run('race-ports', ports), run('race-trunk', trunk)]);
    expect(a.filter((o) => o.admit).length).toBe(100);
    expect(a.filter((o) => !o.admit && o.reason === 'port-limit').length).toBe(900);
    expect(await redis.zcard(keys.tenant.admissionCalls('race-ports'))).toBe(100);
    expect(b.filter((o) => o.admit).length).toBe(37);
    expect(b.filter((o) => !o.admit && o.reason === 'trunk-channels').length).toBe(963);
    // both clients got some of the admissions
    expect(a.filter((o, i) => o.admit && i % 2 === 0).length).toBeGreaterThan(0);
    expect(a.filter((o, i) => o.admit && i % 2 === 1).length).toBeGreaterThan(0);
  });

  it('the call-rate bucket holds across two clients', async () => {
    const s2 = new AdmissionStore(redis2, keys, { leaseTtlMs: 60_000, floodWindowMs: 10_000 });
    const plan = planOf(baseReq({ contract: { ports: 1000, callsPerSecond: 1, burst: 25 } }), NOFLOOD);
    const r = await Promise.all(Array.from({ length: 200 }, (_, i) => (i % 2 ? store : s2).admit('race-rate', `r${i}`, plan, NOW)));
    expect(r.filter((o) => o.admit).length).toBe(25);
    expect(r.find((o) => !o.admit)).toMatchObject({ status: 503, reason: 'rate-limit', retryAfter: 1 });
  });

  it('admitting the same call twice counts once; release is idempotent and frees the port', async () => {
    const plan = planOf(baseReq({ contract: { ports: 1, callsPerSecond: 0, burst: 1 }, trunk: { trunkId: 'tr', channels: 1 } }));
    const first = await store.admit('dup', 'call-a', plan);
    const again = await store.admit('dup', 'call-a', plan);
    expect(first).toMatchObject({ admit: true, duplicate: false, activeCalls: 1 });
    expect(again).toMatchObject({ admit: true, duplicate: true, activeCalls: 1 });
    expect(await store.admit('dup', 'call-b', plan)).toMatchObject({ admit: false, reason: 'port-limit' });
    if (!first.admit) throw new Error('unreachable');
    expect(await store.release(first.ticket)).toBe(true);
    expect(await store.release(first.ticket)).toBe(false);
    expect(await store.releaseByCallId('dup', 'call-a')).toBe(false);
    expect(await redis.exists(keys.tenant.admissionLease('dup', 'call-a'))).toBe(0);
    expect(await store.admit('dup', 'call-b', plan)).toMatchObject({ admit: true });
    expect(await redis.zcard(keys.tenant.admissionTrunk('dup', 'tr'))).toBe(1);
  });

  it('releaseByCallId finds the trunk from the lease record', async () => {
    const plan = planOf(baseReq({ trunk: { trunkId: 'trx', channels: 5 } }));
    await store.admit('byid', 'call-x', plan);
    expect(await redis.zcard(keys.tenant.admissionTrunk('byid', 'trx'))).toBe(1);
    expect(await store.releaseByCallId('byid', 'call-x')).toBe(true);
    expect(await redis.zcard(keys.tenant.admissionTrunk('byid', 'trx'))).toBe(0);
    expect(await redis.zcard(keys.tenant.admissionCalls('byid'))).toBe(0);
  });

  it("a crashed holder's leases expire, are not counted, and are swept; renewed leases survive", async () => {
    // Lease time comes from Redis TIME (shared by every sip process), so this test runs on the wall
    // clock: margins are wide enough that only a multi-second stall of the machine could break it.
    const short = new AdmissionStore(redis2, keys, { leaseTtlMs: 2500, floodWindowMs: 10_000 });
    const plan = planOf(baseReq({ contract: { ports: 10, callsPerSecond: 0, burst: 1 }, trunk: { trunkId: 'tr', channels: 10 } }), NOFLOOD);
    const held = await Promise.all(Array.from({ length: 10 }, (_, i) => short.admit('crash', `k${i}`, plan)));
    expect(held.every((o) => o.admit)).toBe(true);
    expect(await store.admit('crash', 'new-0', plan)).toMatchObject({ admit: false, reason: 'port-limit' });
    // the "survivor" process keeps renewing two of its calls; the rest belong to a process that died
    const tickets = held.slice(0, 2).map((o) => (o.admit ? o.ticket : undefined)!);
    const renewedSince = Date.now();
    while (Date.now() - renewedSince < 3000) {
      await new Promise((r) => setTimeout(r, 250));
      expect(await short.renew(tickets)).toEqual([]);
    }
    // over 3000 ms > 2500 ms TTL: the 8 unrenewed leases are gone, the 2 renewed ones are held
    const swept = await store.sweepAll();
    expect(swept.ports).toBe(8);
    expect(swept.channels).toBe(8);
    expect(await redis.zcard(keys.tenant.admissionCalls('crash'))).toBe(2);
    const again = await Promise.all(Array.from({ length: 9 }, (_, i) => store.admit('crash', `new-${i}`, plan)));
    expect(again.filter((o) => o.admit).length).toBe(8);
    // a lease lost to expiry is reported by renew and not resurrected
    await new Promise((r) => setTimeout(r, 2800));
    expect((await short.renew(tickets)).sort()).toEqual(['k0', 'k1']);
  });

  it('expired leases are not counted even before the sweeper runs', async () => {
    const short = new AdmissionStore(redis, keys, { leaseTtlMs: 1500, floodWindowMs: 10_000 });
    const plan = planOf(baseReq({ contract: { ports: 1, callsPerSecond: 0, burst: 1 } }));
    expect((await short.admit('lazy', 'a', plan)).admit).toBe(true);
    expect((await short.admit('lazy', 'b', plan)).admit).toBe(false);
    await new Promise((r) => setTimeout(r, 1700));
    expect((await short.admit('lazy', 'b', plan)).admit).toBe(true);
  });

  it("the contract's channels over all trunks hold across trunks and two clients", async () => {
    const s2 = new AdmissionStore(redis2, keys, { leaseTtlMs: 60_000, floodWindowMs: 10_000 });
    const c = { ports: 1000, callsPerSecond: 0, burst: 1, trunkChannels: 25 };
    const plans = ['ta', 'tb', 'tc'].map((trunkId) => planOf(baseReq({ contract: c, trunk: { trunkId, channels: 20 } }), NOFLOOD));
    const r = await Promise.all(Array.from({ length: 300 }, (_, i) => (i % 2 ? store : s2).admit('alltrunks', `a${i}`, plans[i % 3]!)));
    expect(r.filter((o) => o.admit)).toHaveLength(25);
    expect(await redis.zcard(keys.tenant.admissionTrunkCalls('alltrunks'))).toBe(25);
    // release gives the channel back to the tenant-wide count too
    const one = r.find((o) => o.admit);
    if (one?.admit) await store.release(one.ticket);
    expect(await redis.zcard(keys.tenant.admissionTrunkCalls('alltrunks'))).toBe(24);
    const late = await store.admit('alltrunks', 'late', planOf(baseReq({ contract: c, trunk: { trunkId: 'ta', channels: 20 } }), NOFLOOD));
    expect(late.admit).toBe(true);
    if (late.admit) {
      const t = await store.leaseTrunk({ ...late.ticket, callId: 'late2' }, 'tb', 20, 25);
      expect(t.taken).toBe(false);
    }
  });

  it('leaseTrunk: outbound failover takes and gives back channels, emergency uses the reserve', async () => {
    const plan = planOf(baseReq());
    const calls = await Promise.all(['o1', 'o2', 'o3'].map((c) => store.admit('fail', c, plan)));
    const [t1, t2, t3] = calls.map((o) => (o.admit ? o.ticket : undefined)!);
    const a = await store.leaseTrunk(t1!, 'A', 2);
    const b = await store.leaseTrunk(t2!, 'A', 2);
    expect(a.taken && b.taken).toBe(true);
    expect(await store.leaseTrunk(t3!, 'A', 2)).toEqual({ taken: false, channelsInUse: 2 });
    const c = await store.leaseTrunk(t3!, 'B', 2);
    expect(c.taken).toBe(true);
    // failover of call 1 from A to B
    if (!a.taken) throw new Error('unreachable');
    const moved = await store.releaseTrunk(a.ticket);
    expect(moved.trunkId).toBeUndefined();
    expect(await redis.hget(keys.tenant.admissionLease('fail', 'o1'), 'trunk')).toBe('');
    expect(await redis.zcard(keys.tenant.admissionTrunk('fail', 'A'))).toBe(1);
    const emergency = planOf(baseReq({ priority: 'emergency', trunk: { trunkId: 'A', channels: 1 } }));
    expect(await store.admit('fail', 'e1', emergency)).toMatchObject({ admit: true });
    expect(await store.admit('fail', 'e2', emergency)).toMatchObject({ admit: false, reason: 'trunk-channels' });
    if (c.taken) expect(await store.release(c.ticket)).toBe(true);
    expect(await redis.zcard(keys.tenant.admissionTrunk('fail', 'B'))).toBe(0);
  });
});

describe('AdmissionStore flood guard and events', () => {
  it('trips after more than N incomplete attempts, throttles for the cooling time, emits one event, and spares other sources', async () => {
    const policy: AdmissionPolicy = { ...POLICY, flood: { ...POLICY.flood, attemptThreshold: 5, coolingMs: 1_000 } };
    const plan = (source: string) => planOf(baseReq({ source, contract: { ports: 100, callsPerSecond: 0, burst: 1 } }), policy);
    const outcomes: string[] = [];
    for (let i = 0; i < 8; i++) {
      const o = await store.admit('flood', `f${i}`, plan('ext:300'));
      outcomes.push(o.admit ? 'admit' : o.reason);
      if (o.admit) await store.release(o.ticket);
    }
    expect(outcomes).toEqual(['admit', 'admit', 'admit', 'admit', 'admit', 'admit', 'incomplete-call-flood', 'incomplete-call-flood']);
    // a source that completes its calls is not judged by another's flood
    for (let i = 0; i < 8; i++) {
      const o = await store.admit('flood', `g${i}`, plan('ext:301'));
      expect(o.admit).toBe(true);
      if (o.admit) {
        await store.markAnswered(o.ticket);
        await store.release(o.ticket);
      }
    }
    const events = await store.readEvents('flood');
    expect(events.filter((e) => e.type === 'incomplete-call-flood')).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'incomplete-call-flood', fields: { source: 'ext:300', attempts: '6', completions: '0' } });
    // after the cooling time the source starts with a fresh window
    await new Promise((r) => setTimeout(r, 1_050));
    expect((await store.admit('flood', 'f-after', plan('ext:300'))).admit).toBe(true);
  });

  it('calls still in progress are not judged: 30 held calls from one source do not trip; answered ones count as complete', async () => {
    const policy: AdmissionPolicy = { ...POLICY, flood: { ...POLICY.flood, attemptThreshold: 5 } };
    const plan = planOf(baseReq({ source: 'ext:400', contract: { ports: 100, callsPerSecond: 0, burst: 1 } }), policy);
    const held = await Promise.all(Array.from({ length: 30 }, (_, i) => store.admit('busy', `h${i}`, plan)));
    expect(held.every((o) => o.admit)).toBe(true);
    // they all end answered: still fine
    for (const o of held) if (o.admit) await store.release(o.ticket, { answered: true });
    expect(await store.counters('busy', { source: 'ext:400', now: Date.now() })).toMatchObject({ flood: { attempts: 30, completions: 30 } });
    expect((await store.admit('busy', 'next', plan)).admit).toBe(true);
  });

  it('limit-reached events are gated to one per reason per period', async () => {
    const plan = planOf(baseReq({ contract: { ports: 0, callsPerSecond: 0, burst: 1 } }));
    for (let i = 0; i < 20; i++) await store.admit('gate', `x${i}`, plan);
    const ev = await store.readEvents('gate');
    expect(ev.map((e) => e.type)).toEqual(['port-limit']);
    expect(ev[0]!.fields).toEqual({ ports: '0' });
  });

  it('readEvents pages newest first', async () => {
    for (let i = 0; i < 5; i++) await store.appendEvent('pages', 'note', { n: String(i) });
    const first = await store.readEvents('pages', { count: 2 });
    expect(first.map((e) => e.fields['n'])).toEqual(['4', '3']);
    const next = await store.readEvents('pages', { count: 2, before: first[1]!.id });
    expect(next.map((e) => e.fields['n'])).toEqual(['2', '1']);
  });
});

describe('REGISTER cap, restriction levels, priority numbers', () => {
  it('caps REGISTER per source with a token bucket', async () => {
    const r = [];
    for (let i = 0; i < 6; i++) r.push(await store.takeRegisterToken('192.0.2.7', { perSecond: 2, burst: 4 }, NOW));
    expect(r.map((x) => x.allowed)).toEqual([true, true, true, true, false, false]);
    expect(r[4]!.retryAfter).toBe(1);
    expect((await store.takeRegisterToken('192.0.2.7', { perSecond: 2, burst: 4 }, NOW + 500)).allowed).toBe(true);
    expect((await store.takeRegisterToken('192.0.2.8', { perSecond: 2, burst: 4 }, NOW)).allowed).toBe(true);
  });

  it('reads the platform restriction level from the provisioning key, and stores priority numbers', async () => {
    expect(await store.readPlatformRestriction()).toBe(0);
    await redis.set(keys.global.restrictionLevel(), '2');
    expect(await store.readPlatformRestriction()).toBe(2);
    await store.setPlatformRestriction(0);
    expect(await store.readPlatformRestriction()).toBe(0);
    await redis.set(keys.global.restrictionLevel(), 'junk');
    expect(await store.readPlatformRestriction()).toBe(0);

    await store.addPriorityNumbers({ platform: true }, ['+81312345678']);
    await store.addPriorityNumbers({ tenantId: 'r1' }, ['9001', '9002']);
    await store.removePriorityNumbers({ tenantId: 'r1' }, ['9002']);
    expect([...(await store.priorityNumbersFor('r1'))].sort()).toEqual(['+81312345678', '9001']);
    expect(await store.listPriorityNumbers({ tenantId: 'r1' })).toEqual(['9001']);
  });
});
