import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { admissionSpec, readConfig } from '@kumo/config';
import { createAdmissionMetrics, createRegistry, silentLogger, type OverloadDetector } from '@kumo/runtime';
import { AdmissionStore, createRedis, keySchema, type KeySchema, type RedisClient } from '@kumo/store';
import { CallAdmission, createCallAdmission, RestrictionWatcher, admissionPolicyFromConfig, registerRateCap, type AdmissionCall } from '@kumo/sip';
import { freePort, uniquePrefix } from '@kumo/testkit';

const env = {
  KUMO_ADMISSION_RESTRICTION_POLL_MS: '200',
  KUMO_ADMISSION_FLOOD_ATTEMPTS: '1000000',
  KUMO_ADMISSION_OVERLOAD_LAG_MS: '0',
  KUMO_ADMISSION_LEASE_RENEW_MS: '60000',
  KUMO_ADMISSION_SWEEP_MS: '60000',
};
const config = readConfig({ admission: admissionSpec }, env).admission;

const contract = { ports: 100, callsPerSecond: 0, burst: 1 };
const call = (tenantId: string, callId: string, o: Partial<AdmissionCall> = {}): AdmissionCall => ({
  tenantId,
  callId,
  status: 'active',
  restrictionLevel: 0,
  contract,
  direction: 'outbound',
  facts: { dialled: '0312345678', calleeE164: '+81312345678', callerExtension: '201' },
  source: 'ext:201',
  ...o,
});

let clients: RedisClient[] = [];
let keys: KeySchema;
let admissions: CallAdmission[] = [];

function proc(extra: Record<string, string> = {}): CallAdmission {
  const redis = createRedis(inject('redisUrl'));
  clients.push(redis);
  const a = createCallAdmission({
    redis,
    keys,
    config: readConfig({ admission: admissionSpec }, { ...env, ...extra }).admission,
    log: silentLogger(),
    registry: createRegistry('sip'),
  });
  admissions.push(a);
  return a;
}

let api: AdmissionStore;
beforeAll(() => {
  keys = keySchema(uniquePrefix('sipadm'));
  const r = createRedis(inject('redisUrl'));
  clients.push(r);
  api = new AdmissionStore(r, keys, { leaseTtlMs: 60_000, floodWindowMs: 60_000 });
});
afterAll(() => {
  for (const a of admissions) a.close();
  for (const c of clients) c.disconnect();
  admissions = [];
  clients = [];
});

describe('call admission in the sip process', () => {
  it('ports=100: 100 held calls, the 101st refused with Retry-After and a reason, an emergency call still admitted', async () => {
    const a = proc();
    await a.start();
    const held = await Promise.all(Array.from({ length: 100 }, (_, i) => a.admit(call('full', `c${i}`))));
    expect(held.every((r) => r.admit)).toBe(true);
    const r101 = await a.admit(call('full', 'c100'));
    expect(r101).toEqual({
      admit: false,
      status: 503,
      reason: 'port-limit',
      retryAfter: 5,
      headers: { 'Retry-After': '5', 'X-Kumo-Reason': 'port-limit' },
    });
    const e = await a.admit(call('full', 'emergency-1', { facts: { dialled: '119', callerExtension: '201' } }));
    expect(e).toMatchObject({ admit: true, priority: 'emergency' });
    // a call ends: its port is free again (and the emergency call still holds one)
    const first = held[0]!;
    if (first.admit) await a.release(first.ticket);
    expect((await a.admit(call('full', 'c101'))).admit).toBe(false);
    if (e.admit) await a.release(e.ticket);
    expect((await a.admit(call('full', 'c102'))).admit).toBe(true);
    expect(a.leasesHeld).toBe(100);
  });

  it('a platform restriction level change is seen by two running processes within one second', async () => {
    const p1 = proc();
    const p2 = proc();
    await Promise.all([p1.start(), p2.start()]);
    await api.addPriorityNumbers({ tenantId: 'restr' }, ['+81300000000']);
    const seen = async (a: CallAdmission, callId: string): Promise<number> => {
      const t0 = performance.now();
      for (;;) {
        const r = await a.admit(call('restr', callId));
        if (!r.admit && r.reason === 'restricted') return performance.now() - t0;
        if (r.admit) await a.release(r.ticket);
        if (performance.now() - t0 > 3000) throw new Error('restriction not seen');
        await new Promise((res) => setTimeout(res, 10));
      }
    };
    await api.setPlatformRestriction(3);
    try {
      const [d1, d2] = await Promise.all([seen(p1, 'x1'), seen(p2, 'x2')]);
      expect(d1).toBeLessThan(1000);
      expect(d2).toBeLessThan(1000);
      // level 3: emergency and priority numbers still go through; inbound is not restricted
      const prio = await p1.admit(call('restr', 'p1', { facts: { dialled: '0300000000', calleeE164: '+81300000000' } }));
      expect(prio).toMatchObject({ admit: true, priority: 'priority' });
      expect(await p2.admit(call('restr', 'e1', { facts: { dialled: '110' } }))).toMatchObject({ admit: true, priority: 'emergency' });
      expect((await p2.admit(call('restr', 'in1', { direction: 'inbound', source: 'trunk:t1' }))).admit).toBe(true);
    } finally {
      await api.setPlatformRestriction(0);
    }
    // back to 0 within a second on both
    await new Promise((res) => setTimeout(res, 1000));
    expect((await p1.admit(call('restr', 'after1'))).admit).toBe(true);
    expect((await p2.admit(call('restr', 'after2'))).admit).toBe(true);
  });

  it("a tenant's own level (from its record) restricts about half of its outgoing calls at level 1", async () => {
    const a = proc();
    await a.start();
    let admitted = 0;
    for (let i = 0; i < 200; i++) {
      const r = await a.admit(call('half', `half-${i}`, { restrictionLevel: 1 }));
      if (r.admit) {
        admitted++;
        await a.release(r.ticket);
      } else expect(r).toMatchObject({ status: 503, reason: 'restricted', headers: { 'Retry-After': '30' } });
    }
    expect(admitted).toBeGreaterThan(70);
    expect(admitted).toBeLessThan(130);
    // the same call id gets the same answer every time (retransmissions, several processes)
    const again = await a.admit(call('half', 'half-0', { restrictionLevel: 1 }));
    const first = await a.admit(call('half', 'half-0', { restrictionLevel: 1 }));
    expect(again.admit).toBe(first.admit);
  });

  it('suspension mid-day: new calls refused with 403, emergency admitted, calls in progress keep their leases', async () => {
    const a = proc();
    await a.start();
    const before = await a.admit(call('susp', 's1'));
    expect(before.admit).toBe(true);
    const suspended = { status: 'suspended' as const };
    expect(await a.admit(call('susp', 's2', suspended))).toMatchObject({ admit: false, status: 403, reason: 'tenant-suspended', headers: { 'X-Kumo-Reason': 'tenant-suspended' } });
    expect(await a.admit(call('susp', 's3', { ...suspended, direction: 'inbound', source: 'trunk:t1' }))).toMatchObject({ admit: false, status: 403 });
    expect(await a.admit(call('susp', 's4', { ...suspended, facts: { dialled: '119' } }))).toMatchObject({ admit: true });
    expect(await api.counters('susp', { now: Date.now() })).toMatchObject({ activeCalls: 2 });
    if (before.admit) await a.release(before.ticket);
  });

  it('overload refuses new non-priority calls but never priority or emergency calls', async () => {
    const redis = createRedis(inject('redisUrl'));
    clients.push(redis);
    const store = new AdmissionStore(redis, keys, { leaseTtlMs: 60_000, floodWindowMs: 60_000 });
    const overload: OverloadDetector = { overloaded: () => true, lagMs: () => 500, close: () => undefined };
    const registry = createRegistry('sip');
    const a = new CallAdmission({
      store,
      policy: admissionPolicyFromConfig(config),
      restrictions: new RestrictionWatcher({ store, log: silentLogger(), pollMs: 200 }),
      overload,
      metrics: createAdmissionMetrics(registry),
      log: silentLogger(),
      leaseRenewMs: 60_000,
      sweepMs: 60_000,
      register: { perSecond: 0, burst: 1 },
    });
    admissions.push(a);
    await a.start();
    await store.addPriorityNumbers({ platform: true }, ['+81399999999']);
    expect(await a.admit(call('ovl', 'o1'))).toMatchObject({ admit: false, status: 503, reason: 'overload', headers: { 'Retry-After': '5' } });
    expect(await a.admit(call('ovl', 'o2', { direction: 'inbound' }))).toMatchObject({ admit: false, reason: 'overload' });
    expect(await a.admit(call('ovl', 'o3', { facts: { dialled: '0399999999', calleeE164: '+81399999999' } }))).toMatchObject({ admit: true, priority: 'priority' });
    expect(await a.admit(call('ovl', 'o4', { facts: { dialled: '118' } }))).toMatchObject({ admit: true, priority: 'emergency' });
    const text = await registry.metrics();
    expect(text).toContain('kumo_admission_decisions_total{outcome="rejected",reason="overload",priority="normal",proc="sip"} 2');
    expect(text).toContain('kumo_admission_decisions_total{outcome="admitted",reason="none",priority="emergency",proc="sip"} 1');
    await store.removePriorityNumbers({ platform: true }, ['+81399999999']);
  });

  it("a crashed process's leases come back after the TTL; a live process's renewed leases do not", async () => {
    const fast = { KUMO_ADMISSION_LEASE_TTL_MS: '1000' };
    const crashed = proc(fast);
    const alive = proc(fast);
    await Promise.all([crashed.start(), alive.start()]);
    const small = { ...contract, ports: 10 };
    const c = await Promise.all(Array.from({ length: 5 }, (_, i) => crashed.admit(call('crash', `dead${i}`, { contract: small }))));
    const l = await Promise.all(Array.from({ length: 5 }, (_, i) => alive.admit(call('crash', `live${i}`, { contract: small }))));
    expect([...c, ...l].every((r) => r.admit)).toBe(true);
    expect((await alive.admit(call('crash', 'more', { contract: small }))).admit).toBe(false);
    crashed.close(); // the process dies: no release, no renewal
    for (let i = 0; i < 4; i++) {
      await new Promise((res) => setTimeout(res, 350));
      await alive.renewNow();
    }
    await alive.sweepNow();
    const counters = await api.counters('crash', { now: Date.now() });
    expect(counters.activeCalls).toBe(5);
    const more = await Promise.all(Array.from({ length: 6 }, (_, i) => alive.admit(call('crash', `more${i}`, { contract: small }))));
    expect(more.filter((r) => r.admit)).toHaveLength(5);
  });

  it('a real sip-like process killed with SIGKILL: its leases stop counting after the TTL and are swept', async () => {
    const prefix = keys.prefix;
    const child = spawn(process.execPath, [fileURLToPath(new URL('../fixtures/hold-leases.mjs', import.meta.url)), inject('redisUrl'), prefix, 'killed', '60', '1500'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const t0 = Date.now();
    while (!out.includes('held')) {
      if (Date.now() - t0 > 15_000) throw new Error(`child did not start: ${err}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(out).toContain('held 60');
    const live = proc();
    await live.start();
    const c100 = { ...contract, ports: 100 };
    // 60 held by the child: 40 more fit
    const first = await Promise.all(Array.from({ length: 41 }, (_, i) => live.admit(call('killed', `live${i}`, { contract: c100, direction: 'internal' }))));
    expect(first.filter((r) => r.admit)).toHaveLength(40);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    await new Promise((r) => setTimeout(r, 1600));
    await live.sweepNow();
    expect((await api.counters('killed', { now: Date.now() })).activeCalls).toBe(40);
    const after = await Promise.all(Array.from({ length: 61 }, (_, i) => live.admit(call('killed', `after${i}`, { contract: c100, direction: 'internal' }))));
    expect(after.filter((r) => r.admit)).toHaveLength(60);
  });

  it('two processes racing 500 concurrent admissions each never overshoot the 100 ports', async () => {
    const fixture = fileURLToPath(new URL('../fixtures/hold-leases.mjs', import.meta.url));
    const racers = [0, 1].map(() => {
      const child = spawn(process.execPath, [fixture, inject('redisUrl'), keys.prefix, 'race', '500', '60000'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      return { child, out: () => out, err: () => err };
    });
    try {
      const t0 = Date.now();
      while (!racers.every((r) => r.out().includes('held'))) {
        if (Date.now() - t0 > 20_000) throw new Error(`racers did not finish: ${racers.map((r) => r.err()).join('\n')}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const held = racers.map((r) => Number(/held (\d+)/.exec(r.out())?.[1]));
      expect(held[0]! + held[1]!).toBe(100);
      expect((await api.counters('race', { now: Date.now() })).activeCalls).toBe(100);
    } finally {
      for (const r of racers) r.child.kill('SIGKILL');
    }
  });

  it('outbound trunk leasing through the service, with the emergency reserve', async () => {
    const a = proc();
    await a.start();
    const trunk = { trunkId: 'carrier', channels: 1 };
    const n = await a.admit(call('trk', 'n1'));
    const m = await a.admit(call('trk', 'n2'));
    const e = await a.admit(call('trk', 'e1', { facts: { dialled: '119' } }));
    if (!n.admit || !m.admit || !e.admit) throw new Error('expected admissions');
    const t1 = await a.leaseTrunk(n.ticket, trunk);
    expect(t1.admit).toBe(true);
    expect(await a.leaseTrunk(m.ticket, trunk)).toMatchObject({ admit: false, reason: 'trunk-channels', headers: { 'X-Kumo-Reason': 'trunk-channels' } });
    const te = await a.leaseTrunk(e.ticket, trunk);
    expect(te.admit).toBe(true);
    expect((await api.counters('trk', { trunkId: 'carrier', now: Date.now() })).trunkChannels).toBe(2);
    if (t1.admit) await a.release(t1.ticket);
    // the emergency call still holds the trunk's only ordinary channel
    expect((await a.leaseTrunk(m.ticket, trunk)).admit).toBe(false);
    if (te.admit) await a.release(te.ticket);
    expect((await a.leaseTrunk(m.ticket, trunk)).admit).toBe(true);
    expect((await api.counters('trk', { trunkId: 'carrier', now: Date.now() })).trunkChannels).toBe(1);
  });

  it('Redis down: ordinary calls fail with a typed error, emergency calls are still admitted', async () => {
    const port = await freePort();
    const dead = createRedis(`redis://127.0.0.1:${port}`, { enableOfflineQueue: false, maxRetriesPerRequest: 0, lazyConnect: true, retryStrategy: () => null });
    dead.on('error', () => undefined);
    clients.push(dead);
    const store = new AdmissionStore(dead, keys, { leaseTtlMs: 60_000, floodWindowMs: 60_000 });
    const a = new CallAdmission({
      store,
      policy: admissionPolicyFromConfig(config),
      restrictions: new RestrictionWatcher({ store, log: silentLogger(), pollMs: 200 }),
      overload: { overloaded: () => false, lagMs: () => 0, close: () => undefined },
      metrics: createAdmissionMetrics(createRegistry('sip')),
      log: silentLogger(),
      leaseRenewMs: 60_000,
      sweepMs: 60_000,
      register: { perSecond: 1, burst: 1 },
    });
    admissions.push(a);
    await a.start(); // the watcher keeps level 0 and logs
    await expect(a.admit(call('down', 'd1'))).rejects.toMatchObject({ code: 'KUMO_ERR_ADMISSION_UNAVAILABLE' });
    expect(await a.admit(call('down', 'd2', { facts: { dialled: '119' } }))).toMatchObject({ admit: true, priority: 'emergency' });
    expect(await a.admitRegister('192.0.2.1')).toEqual({ allowed: true });
  });

  it('registerRateCap answers 503 with Retry-After in front of the registrar', async () => {
    const a = proc({ KUMO_ADMISSION_REGISTER_PER_SECOND: '1', KUMO_ADMISSION_REGISTER_BURST: '1' });
    let reached = 0;
    const handler = registerRateCap(a, (_req, res) => {
      reached++;
      res.send(200, 'OK', {});
      return Promise.resolve();
    });
    const sent: { status: number; headers: Record<string, string> }[] = [];
    const res = { finalResponseSent: false, send: (status: number, _r: string | undefined, o: { headers?: Record<string, string> }) => void sent.push({ status, headers: { ...(o.headers ?? {}) } }) };
    const req = { method: 'REGISTER', uri: 'sip:x', source_address: '203.0.113.5', source_port: 5060, protocol: 'udp', get: () => undefined, has: () => false };
    await handler(req, res);
    await handler(req, res);
    expect(reached).toBe(1);
    expect(sent).toEqual([{ status: 200, headers: {} }, { status: 503, headers: { 'Retry-After': '1', 'X-Kumo-Reason': 'rate-limit' } }]);
  });

  it('REGISTER cap per source', async () => {
    const a = proc({ KUMO_ADMISSION_REGISTER_PER_SECOND: '1', KUMO_ADMISSION_REGISTER_BURST: '3' });
    const r = [];
    for (let i = 0; i < 5; i++) r.push(await a.admitRegister('198.51.100.9'));
    expect(r.map((x) => x.allowed)).toEqual([true, true, true, false, false]);
    expect(r[3]).toMatchObject({ allowed: false, retryAfter: 1, headers: { 'Retry-After': '1', 'X-Kumo-Reason': 'rate-limit' } });
  });

  it('flood guard: a source calling a number that never answers is throttled, the tenant\'s other extensions keep calling', async () => {
    const a = proc({ KUMO_ADMISSION_FLOOD_ATTEMPTS: '10', KUMO_ADMISSION_FLOOD_MIN_COMPLETION_PERCENT: '30' });
    await a.start();
    const outcomes: string[] = [];
    for (let i = 0; i < 15; i++) {
      const r = await a.admit(call('fl', `bad${i}`, { source: 'ext:666' }));
      outcomes.push(r.admit ? 'ok' : r.reason);
      if (r.admit) await a.release(r.ticket); // never answered
    }
    expect(outcomes.slice(0, 11).every((o) => o === 'ok')).toBe(true);
    expect(outcomes.slice(11).every((o) => o === 'incomplete-call-flood')).toBe(true);
    for (let i = 0; i < 15; i++) {
      const r = await a.admit(call('fl', `good${i}`, { source: 'ext:202' }));
      expect(r.admit).toBe(true);
      if (r.admit) {
        await a.markAnswered(r.ticket);
        await a.release(r.ticket);
      }
    }
    const ev = await api.readEvents('fl');
    expect(ev.find((e) => e.type === 'incomplete-call-flood')?.fields['source']).toBe('ext:666');
  });
});
