/**
 * Call records and the recovery sweeper against real Redis: a sip process (owner) that stops
 * heart-beating leaves its records; another one ends those calls — BYE to the recorded legs,
 * leases released, CDR with end cause system-failure billed up to the last heartbeat — once.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DEFAULT_ADMISSION_POLICY, isAdmissionPlan, planAdmission, type CallFacts, type Cdr } from '@kumo/domain';
import { silentLogger } from '@kumo/runtime';
import { AdmissionStore, CallRecordStore, HuntStateStore, createRedis, keySchema, type LegRecord, type RedisClient } from '@kumo/store';
import { uniquePrefix } from '@kumo/testkit';
import { CallRecovery } from '@kumo/sip';

const keys = keySchema(uniquePrefix('recov'));
let redis: RedisClient;
beforeAll(() => {
  redis = createRedis(inject('redisUrl'));
});
afterAll(() => redis.disconnect());

const facts = (callId: string, startedAt: number): CallFacts => ({
  tenantId: 't1',
  aLegCallId: callId,
  aLegFromTag: 'ft',
  direction: 'outbound',
  caller: { dialled: '201', extension: '201' },
  callee: { dialled: '0312345678', e164: '+81312345678' },
  trunkId: 'tr1',
  startedAt,
  endedAt: startedAt,
  finalStatus: 500,
});

const leg = (callId: string, side: 'caller' | 'callee'): LegRecord => ({
  side,
  callId,
  local: '<sip:kumo@127.0.0.1>;tag=l',
  remote: '<sip:x@127.0.0.1>;tag=r',
  target: 'sip:x@127.0.0.1:5099',
});

const waitFor = async (cond: () => Promise<boolean> | boolean, ms = 5000): Promise<void> => {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
};

describe('call recovery', () => {
  it("recovers a dead owner's calls once: BYE, leases back, CDR billed to the last heartbeat", async () => {
    const admission = new AdmissionStore(redis, keys, { leaseTtlMs: 120_000, floodWindowMs: 10_000 });
    const plan = planAdmission(
      {
        status: 'active',
        contract: { ports: 10, callsPerSecond: 0, burst: 1, trunkChannels: 5 },
        direction: 'inbound',
        priority: 'normal',
        trunk: { trunkId: 'tr1', channels: 5 },
        source: 'trunk:tr1',
        restriction: { platform: 0, tenant: 0 },
        sample: 0.5,
        overloaded: false,
      },
      DEFAULT_ADMISSION_POLICY,
    );
    if (!isAdmissionPlan(plan)) throw new Error('no plan');
    const dead = new CallRecordStore(redis, keys, 'dead-owner');
    const t0 = Date.now() - 5000;
    // An answered call and one still ringing, both with leases.
    for (const id of ['c-answered', 'c-ringing']) {
      const adm = await admission.admit('t1', id, plan);
      expect(adm.admit).toBe(true);
      await dead.put({ tenantId: 't1', callKey: `${id};ft`, startedAt: t0, facts: facts(id, t0), ticket: { tenantId: 't1', callId: id, priority: 'normal', trunkId: 'tr1' } });
    }
    await dead.answered('t1', 'c-answered;ft', {
      answeredAt: t0 + 100,
      facts: { ...facts('c-answered', t0), answeredAt: t0 + 100, finalStatus: 200, bLegCallId: 'b1' },
      legs: [leg('c-answered', 'caller'), leg('b1', 'callee')],
      // The answered call keeps two extensions busy for hunting (the recovery makes them idle again).
      busy: ['2001', '2002'],
    });
    const hunt = new HuntStateStore(redis, keys);
    await hunt.callStarted('t1', ['2001', '2002']);
    const lastSeen = await dead.heartbeat();
    expect((await admission.counters('t1', { trunkId: 'tr1', now: Date.now() })).activeCalls).toBe(2);

    const cdrs: Cdr[] = [];
    const byes: string[] = [];
    const survivors = ['a', 'b'].map(
      (name) =>
        new CallRecovery({
          records: new CallRecordStore(redis, keys, `survivor-${name}`),
          publishCdr: (c) => {
            cdrs.push(c);
            return Promise.resolve();
          },
          admission,
          hunt,
          hangupLeg: (l) => {
            byes.push(l.callId);
            return Promise.resolve(200);
          },
          log: silentLogger(),
          heartbeatMs: 100,
          deadAfterMs: 400,
        }),
    );
    for (const s of survivors) s.start();
    try {
      await waitFor(() => cdrs.length >= 2);
      await new Promise((r) => setTimeout(r, 300)); // a second sweep of either survivor finds nothing more
    } finally {
      for (const s of survivors) await s.stop({ retire: true });
    }
    expect(cdrs).toHaveLength(2);
    const answered = cdrs.find((c) => c.callIdA === 'c-answered') as Cdr;
    expect(answered).toMatchObject({ disposition: 'answered', endCause: 'system-failure', hangupBy: 'system', endedAt: lastSeen, answeredAt: t0 + 100 });
    expect(answered.billableMs).toBe(lastSeen - (t0 + 100));
    expect(cdrs.find((c) => c.callIdA === 'c-ringing')).toMatchObject({ disposition: 'failed', endCause: 'system-failure', billableSeconds: 0 });
    expect(byes.sort()).toEqual(['b1', 'c-answered']);
    const counters = await admission.counters('t1', { trunkId: 'tr1', now: Date.now() });
    expect(counters.activeCalls).toBe(0);
    expect(counters.trunkChannels).toBe(0);
    expect([...(await hunt.read('t1', ['2001', '2002'], [])).busy]).toEqual([]);
    expect(await dead.callsOf('dead-owner')).toEqual([]);
    expect(await dead.read('t1', 'c-answered;ft')).toBeUndefined();
    expect(await redis.zscore(keys.global.callOwners(), 'dead-owner')).toBeNull();
  });

  it('a live owner is never recovered; a process sweeps only after heart-beating for the dead interval', async () => {
    const live = new CallRecordStore(redis, keys, 'live-owner');
    await live.put({ tenantId: 't1', callKey: 'c-live;ft', startedAt: Date.now(), facts: facts('c-live', Date.now()) });
    const liveBeat = new CallRecovery({ records: live, publishCdr: () => Promise.resolve(), log: silentLogger(), heartbeatMs: 100, deadAfterMs: 400 });
    liveBeat.start();
    const published: Cdr[] = [];
    const other = new CallRecovery({
      records: new CallRecordStore(redis, keys, 'other'),
      publishCdr: (c) => {
        published.push(c);
        return Promise.resolve();
      },
      log: silentLogger(),
      heartbeatMs: 100,
      deadAfterMs: 400,
    });
    // Not yet heart-beaten for the dead interval: no sweep at all.
    await other.heartbeatNow();
    expect(await other.sweepNow()).toBe(0);
    other.start();
    await new Promise((r) => setTimeout(r, 900));
    expect(published).toEqual([]);
    await other.stop({ retire: true });
    await liveBeat.stop();
    await live.clear('t1', 'c-live;ft');
    await live.retire();
  });
});
