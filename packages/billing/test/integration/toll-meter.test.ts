/**
 * The toll meter (docs/security.md, "Spend per hour") against a real Redis: answered toll-class calls in progress
 * are priced as if they ended at the reading, what they cost since the last reading goes into the hour's spend, and
 * the final charge of the CDR adds only the rest — each call counted once, whatever the number of readings.
 */
import { afterAll, describe, expect, inject, it } from 'vitest';
import { DEFAULT_TARIFF, buildCdr, factsEndedAt, rateCdr, type CallFacts } from '@kumo/domain';
import { silentLogger } from '@kumo/runtime';
import { BillingLedger, CallRecordStore, TollFraudStore, createRedis, keySchema } from '@kumo/store';
import { uniquePrefix } from '@kumo/testkit';
import { TollMeter } from '@kumo/billing';

const redis = createRedis(inject('redisUrl'));
afterAll(() => redis.disconnect());

const HOUR = 3_600_000;
const T = 'meter';

function facts(callId: string, callee: { dialled: string; e164?: string }, startedAt: number): CallFacts {
  return {
    tenantId: T,
    aLegCallId: callId,
    aLegFromTag: 'tag',
    direction: 'outbound',
    caller: { dialled: '2002', extension: '2002' },
    callee,
    trunkId: 'trunk-0',
    startedAt,
    endedAt: startedAt,
    finalStatus: 0,
  };
}

describe('toll meter', () => {
  it('adds what running toll calls cost since the last reading; the CDR adds only the rest', async () => {
    const keys = keySchema(uniquePrefix('meter'));
    const sip = new CallRecordStore(redis, keys, 'sip-a');
    const other = new CallRecordStore(redis, keys, 'sip-b');
    const toll = new TollFraudStore(redis, keys);
    const ledger = new BillingLedger(redis, keys, { closeGraceMs: 172_800_000 });
    const meter = new TollMeter({ records: new CallRecordStore(redis, keys, 'billing'), ledger, toll, intervalMs: 0, log: silentLogger() });
    // Mid-hour, so every reading and the final charge fall into the same clock hour.
    const t0 = Math.floor(Date.now() / HOUR) * HOUR + 5 * 60_000;
    const uk = facts('uk', { dialled: '0010442071234567', e164: '+442071234567' }, t0);
    const ringing = facts('ringing', { dialled: '0010442071234568', e164: '+442071234568' }, t0);
    const domestic = facts('dom', { dialled: '00312345678', e164: '+81312345678' }, t0);
    await sip.heartbeat();
    await other.heartbeat();
    for (const [store, f] of [[sip, uk], [sip, ringing], [other, domestic]] as const) {
      await store.put({ tenantId: T, callKey: f.aLegCallId, startedAt: t0, facts: f });
    }
    await sip.answered(T, 'uk', { answeredAt: t0 + 2000, facts: uk, legs: [] });
    await other.answered(T, 'dom', { answeredAt: t0 + 2000, facts: domestic, legs: [] });
    const price = (at: number): number => rateCdr(buildCdr(factsEndedAt(uk, t0 + 2000, at)), DEFAULT_TARIFF).charge;
    const spend = async (): Promise<number> => (await toll.status(T, t0)).thisHour.spend;

    // 30 s into the call: one started minute of the UK call; the domestic call and the unanswered one cost nothing here.
    const first = await meter.read(t0 + 32_000);
    expect(first).toEqual({ calls: 3, toll: 1, added: price(t0 + 32_000), cut: 0 });
    expect(price(t0 + 32_000)).toBeGreaterThan(0);
    expect(await spend()).toBe(price(t0 + 32_000));
    // A reading at the same moment (another billing worker) adds nothing; three minutes in, the difference.
    expect((await meter.read(t0 + 32_000)).added).toBe(0);
    const later = await meter.read(t0 + 182_000);
    expect(later.added).toBe(price(t0 + 182_000) - price(t0 + 32_000));
    expect(await spend()).toBe(price(t0 + 182_000));

    // The call ends at 3 min 30 s: its CDR's charge replaces the metered amount, and a late reading adds nothing.
    const final = rateCdr(buildCdr({ ...factsEndedAt(uk, t0 + 2000, t0 + 212_000), hangupBy: 'caller' }), DEFAULT_TARIFF);
    expect(await toll.addSpend(T, final.cdrId, final.charge, t0 + 213_000)).toEqual({ added: true, spend: final.charge });
    expect((await meter.read(t0 + 240_000)).added).toBe(0);
    expect(await spend()).toBe(final.charge);
    expect(await redis.hlen(keys.tenant.tollSpendRunning(T))).toBe(0);
    // A redelivered CDR still adds nothing.
    expect((await toll.addSpend(T, final.cdrId, final.charge, t0 + 250_000)).added).toBe(false);
    expect(await spend()).toBe(final.charge);
  });

  it('at the limit it has the tenant’s toll calls ended, except a class an operator override lets through', async () => {
    const keys = keySchema(uniquePrefix('meter'));
    const sip = new CallRecordStore(redis, keys, 'sip-a');
    const toll = new TollFraudStore(redis, keys);
    const ledger = new BillingLedger(redis, keys, { closeGraceMs: 172_800_000 });
    const cut: string[] = [];
    const meter = new TollMeter({ records: sip, ledger, toll, intervalMs: 0, log: silentLogger(), cut: (t, k) => Promise.resolve(void cut.push(`${t}/${k}`)) });
    const t0 = Math.floor(Date.now() / HOUR) * HOUR + 5 * 60_000;
    await toll.setLimits(T, { spendPerHour: 2000 });
    await sip.heartbeat();
    const calls = [facts('uk-1', { dialled: '0010442071234567', e164: '+442071234567' }, t0), facts('uk-2', { dialled: '0010442071234568', e164: '+442071234568' }, t0), facts('dom', { dialled: '00312345678', e164: '+81312345678' }, t0)];
    for (const f of calls) {
      await sip.put({ tenantId: T, callKey: f.aLegCallId, startedAt: t0, facts: f });
      await sip.answered(T, f.aLegCallId, { answeredAt: t0 + 1000, facts: f, legs: [] });
    }
    // One started minute each: 1,200 — under the limit after the first, at it after the second (both in one reading).
    const r = await meter.read(t0 + 5000);
    expect(r).toMatchObject({ toll: 2, cut: 2 });
    expect(cut.sort()).toEqual([`${T}/uk-1`, `${T}/uk-2`]); // the domestic call is no toll call
    // The operator lets international calls past the limit: the next reading ends none.
    await toll.unblock(T, 'international', 3_600_000);
    expect((await meter.read(t0 + 6000)).cut).toBe(0);
    expect(cut).toHaveLength(2);
  });
});

