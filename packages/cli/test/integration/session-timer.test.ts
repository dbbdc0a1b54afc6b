/**
 * RFC 4028 session timers toward a carrier that takes them up (docs/reliability.md), real
 * processes: Kumo offers Session-Expires, the carrier answers with a (short) interval and Kumo
 * as the refresher; Kumo refreshes with UPDATE at half the interval. A refresh answered 481
 * ends the call (BYE to both parties, CDR end cause keepalive-timeout).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { KumoProc, PHONE, carrierLog, carrierUas, phoneCalls, readCdrs, ready, relStack, startCarrier, waitFor, type RelStack } from './helpers/kumo-procs.js';

describe('session timers (RFC 4028)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kumo-st-'));
  let st: RelStack;
  const procs: KumoProc[] = [];

  beforeAll(async () => {
    st = await relStack(inject('redisUrl'), { KUMO_SIP_SESSION_EXPIRES_S: '1800' });
    procs.push(new KumoProc('engine', st.env), new KumoProc('sip', st.env));
    for (const p of procs) p.start();
    await waitFor(async () => (await ready(st.ops.engine)) && (await ready(st.ops.sip)), 30_000, 'processes ready');
  });
  afterAll(async () => {
    for (const p of procs) await p.kill('SIGKILL');
    st.redis.disconnect();
    rmSync(dir, { recursive: true, force: true });
  });

  it('Kumo refreshes the session by UPDATE at half the interval; the call goes on', async () => {
    const carrier = startCarrier(dir, st.carrierPort, 1, 30, carrierUas({ sessionExpires: 2 }));
    const phone = phoneCalls(dir, { ...PHONE, target: st.sipTarget, service: '00311112222', calls: 1, rate: 1, holdMs: 3500, timeoutS: 20, name: 'refreshed' });
    const r = await phone.done;
    expect(r.successful, r.errors).toBe(1);
    await carrier.sipp.stop();
    const log = carrierLog(carrier.log);
    expect(log.refreshes).toBeGreaterThanOrEqual(2);
    await waitFor(async () => (await readCdrs(st)).some((c) => c.calleeDialled === '00311112222'), 5_000, 'CDR');
    const [cdr] = (await readCdrs(st)).filter((c) => c.calleeDialled === '00311112222');
    expect(cdr).toMatchObject({ disposition: 'answered', hangupBy: 'caller' });
    expect(cdr?.endCause).toBeUndefined();
  });

  it('a refresh answered 481 ends the call: BYE to both, CDR end cause keepalive-timeout', async () => {
    const carrier = startCarrier(dir, st.carrierPort, 1, 30, carrierUas({ sessionExpires: 2, refreshStatus: 481 }));
    const phone = phoneCalls(dir, { ...PHONE, target: st.sipTarget, service: '00311113333', calls: 1, rate: 1, holdMs: 20_000, timeoutS: 25, name: 'lost' });
    // generous for a starved CI machine: the phone would hang up only after 20 s, and billableMs is checked below
    await waitFor(() => carrierLog(carrier.log).ended.size === 1, 15_000, 'carrier leg ended');
    const r = await phone.done;
    expect(r.successful, r.errors).toBe(1); // the phone got Kumo's BYE and answered it
    await carrier.sipp.stop();
    await waitFor(async () => (await readCdrs(st)).some((c) => c.calleeDialled === '00311113333'), 5_000, 'CDR');
    const [cdr] = (await readCdrs(st)).filter((c) => c.calleeDialled === '00311113333');
    expect(cdr).toMatchObject({ disposition: 'answered', hangupBy: 'system', endCause: 'keepalive-timeout' });
    expect(cdr?.billableMs).toBeLessThan(3000);
  });
});
