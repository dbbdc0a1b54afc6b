/**
 * Toll-fraud spend per hour (docs/security.md, "Toll-fraud guard"), real processes: engine, sip, billing and a sipp
 * carrier. A burst of international calls is answered and held; billing rates them and adds their charges to the
 * tenant's hourly spend (once per CDR); once it reaches the tenant's limit the next international call is refused on
 * the wire (403, X-Kumo-Reason: toll-fraud-guard), domestic calls still pass, the spend-trip metric behind the
 * KumoTollSpendExceeded alert moves, and an operator override lets the class through again. Then, with billing's toll
 * meter on, long calls count while they are still up: at the limit they are ended (CDR endCause toll-fraud), the next
 * one is refused, and their CDRs add nothing twice.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { validateExtension } from '@kumo/domain';
import { ProvisioningRepo, SYSTEM_ACTOR, TollFraudStore } from '@kumo/store';
import { startSipp, uacCall } from '@kumo/testkit';
import { DOMAIN, KumoProc, TENANT, carrierLog, oneCall, phoneCalls, readCdrs, ready, relStack, startCarrier, waitFor, type RelStack } from './helpers/kumo-procs.js';

/** The extension allowed to call abroad. */
const INTL = { user: '2002', domain: DOMAIN, password: 'pass2002x' };
/** 010 44 20 7123 4567 behind the outside-line prefix 0: a UK number, 12 JPY per started minute in the default tariff. */
const UK = '0010442071234567';
const DOMESTIC = '00312345678';
/** 20 JPY: two rated UK calls (1,200 minor units each) pass it. */
const SPEND_LIMIT = 2000;

async function metric(opsHostPort: string, line: RegExp): Promise<number> {
  const text = await (await fetch(`http://${opsHostPort}/metrics`)).text();
  return Number(line.exec(text)?.[1] ?? Number.NaN);
}

describe('toll-fraud guard: spend per hour', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kumo-toll-spend-'));
  let st: RelStack;
  let toll: TollFraudStore;
  const procs: KumoProc[] = [];

  beforeAll(async () => {
    st = await relStack(inject('redisUrl'));
    const repo = new ProvisioningRepo(st.redis, st.keys);
    const ext = validateExtension({ number: INTL.user, displayName: 'Intl', password: INTL.password, permissionClass: 'international' });
    if (!ext.ok) throw new Error(JSON.stringify(ext.problems));
    await repo.createExtension(TENANT, ext.value, SYSTEM_ACTOR);
    toll = new TollFraudStore(st.redis, st.keys);
    // The operator's per-tenant limits: plenty of calls, little money.
    await toll.setLimits(TENANT, { internationalPerHour: 100, premiumPerHour: 10, spendPerHour: SPEND_LIMIT });
    for (const name of ['engine', 'sip', 'billing'] as const) {
      // First without the toll meter: the burst below is counted only when it is rated.
      const p = new KumoProc(name, name === 'billing' ? { ...st.env, KUMO_BILLING_TOLL_METER_MS: '0' } : st.env);
      procs.push(p);
      p.start();
      await waitFor(() => ready(st.ops[name]), 30_000, `${name} ready`);
    }
  }, 90_000);
  afterAll(async () => {
    for (const p of procs.reverse()) await p.kill('SIGKILL');
    st.redis.disconnect();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a burst of international calls reaches the spend limit: the next one is refused on the wire, domestic calls pass, an override lifts it', async () => {
    // The spend is per clock hour: do not start the burst in the last 40 s of an hour (the limit would straddle two).
    const toHour = 3_600_000 - (Date.now() % 3_600_000);
    if (toHour < 40_000) await new Promise((r) => setTimeout(r, toHour + 500));
    const carrier = startCarrier(dir, st.carrierPort, 5, 60);
    // Three international calls at once, each held 2.5 s: all admitted (nothing is rated before a call ends).
    const burst = await phoneCalls(dir, { ...INTL, target: st.sipTarget, service: UK, calls: 3, rate: 10, holdMs: 2500, timeoutS: 20, name: 'burst' }).done;
    expect(burst.successful, burst.errors.slice(0, 2000)).toBe(3);
    await waitFor(() => carrierLog(carrier.log).answered.size === 3, 10_000, 'the carrier answered the three calls');
    // Billing rates them and adds each charge once to the hour's spend.
    await waitFor(async () => (await toll.status(TENANT)).thisHour.spend >= 3 * 1200, 20_000, 'the three calls rated into the spend');
    expect((await toll.status(TENANT)).thisHour.spend).toBe(3 * 1200);

    const file = join(dir, 'refused.xml');
    writeFileSync(file, uacCall({ ...INTL, expect: 403, check: [['X-Kumo-Reason', 'toll-fraud-guard']] }));
    const refused = await startSipp({ scenario: { file }, target: st.sipTarget, service: UK, calls: 1, timeoutS: 10 }).done;
    expect(refused.ok, refused.errors).toBe(true);
    const status = await toll.status(TENANT);
    expect(status.blocked).toEqual([expect.objectContaining({ cls: 'international', reason: 'spend', spend: 3600, spendLimit: SPEND_LIMIT })]);
    expect(await metric(st.ops.sip, /^kumo_toll_fraud_spend_trips_total\{[^}]*class="international"[^}]*\} (\d+)/m)).toBe(1);

    // Domestic calls are not a toll class: they still pass.
    const domestic = await oneCall(dir, { ...INTL, target: st.sipTarget, service: DOMESTIC, name: 'domestic' });
    expect(domestic.ok, domestic.errors).toBe(true);

    // The operator lifts the block with a one-hour override: international calls pass again despite the spend.
    await toll.unblock(TENANT, 'international', 3_600_000);
    const again = await oneCall(dir, { ...INTL, target: st.sipTarget, service: UK, name: 'override' });
    expect(again.ok, again.errors).toBe(true);
    // Settled: that call is rated into the spend too (the next test starts from a clean hour).
    await waitFor(async () => (await toll.status(TENANT)).thisHour.spend === 4 * 1200, 20_000, 'the override call rated');
    await carrier.sipp.stop();
  }, 150_000);

  it('with the toll meter, long calls count while they are up: at the limit they are ended and the next one refused; nothing counted twice', async () => {
    const toHour = 3_600_000 - (Date.now() % 3_600_000);
    if (toHour < 40_000) await new Promise((r) => setTimeout(r, toHour + 500));
    // A fresh hour's spend and no block or override from the test above; billing restarted with a fast meter.
    await toll.unblock(TENANT, 'international', 0);
    await st.redis.del(st.keys.tenant.tollSpend(TENANT, Math.floor(Date.now() / 3_600_000)));
    const billing = procs.find((p) => p.name === 'billing') as KumoProc;
    await billing.kill('SIGTERM');
    const metered = new KumoProc('billing', { ...st.env, KUMO_BILLING_TOLL_METER_MS: '300' });
    procs.push(metered);
    metered.start();
    await waitFor(() => ready(st.ops.billing), 30_000, 'billing ready');
    const sub = join(dir, 'meter');
    mkdirSync(sub);
    const carrier = startCarrier(sub, st.carrierPort, 3, 60);
    const started = Date.now();
    // Two international calls meant to last 20 s: one started minute each (1,200) is 2,400 ≥ the 2,000 limit while
    // both are up, so the meter counts them and then has them ended (BYE to both sides).
    const long = phoneCalls(sub, { ...INTL, target: st.sipTarget, service: UK, calls: 2, rate: 10, holdMs: 20_000, timeoutS: 40, name: 'long' });
    const result = await long.done;
    expect(result.successful, result.errors.slice(0, 2000)).toBe(2); // each answered Kumo's BYE
    expect(Date.now() - started).toBeLessThan(15_000);
    await waitFor(() => carrierLog(carrier.log).ended.size === 2, 10_000, 'the carrier legs ended');
    const file = join(sub, 'refused.xml');
    writeFileSync(file, uacCall({ ...INTL, expect: 403, check: [['X-Kumo-Reason', 'toll-fraud-guard']] }));
    const refused = await startSipp({ scenario: { file }, target: st.sipTarget, service: UK, calls: 1, timeoutS: 10 }).done;
    expect(refused.ok, refused.errors).toBe(true);
    // Their CDRs say why they ended and are rated: the final charges replace what was metered, nothing twice.
    await waitFor(async () => (await readCdrs(st)).filter((c) => c.endCause === 'toll-fraud').length === 2, 10_000, 'two toll-fraud CDRs');
    for (const c of (await readCdrs(st)).filter((x) => x.endCause === 'toll-fraud')) {
      expect(c).toMatchObject({ disposition: 'answered', hangupBy: 'system', calleeDialled: UK });
      expect(c.billableMs).toBeLessThan(15_000);
    }
    await waitFor(async () => (await st.redis.hlen(st.keys.tenant.tollSpendRunning(TENANT))) === 0, 20_000, 'the CDRs rated');
    expect((await toll.status(TENANT)).thisHour.spend).toBe(2 * 1200);
    await carrier.sipp.stop();
  }, 90_000);
});
