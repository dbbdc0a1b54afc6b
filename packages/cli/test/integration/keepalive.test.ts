/**
 * Keep-alive (docs/reliability.md), real processes: a phone that vanishes mid-call (sipp
 * SIGKILLed) stops answering the in-dialog OPTIONS; Kumo ends the call — BYE to the carrier —
 * and the CDR says why (`keepalive-timeout`), billed up to then.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { KumoProc, PHONE, carrierLog, phoneCalls, readCdrs, ready, relStack, startCarrier, waitFor, type RelStack } from './helpers/kumo-procs.js';

const KEEPALIVE_S = 1;

describe('keep-alive', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kumo-keepalive-'));
  let st: RelStack;
  const procs: KumoProc[] = [];

  beforeAll(async () => {
    st = await relStack(inject('redisUrl'), { KUMO_SIP_KEEPALIVE_S: String(KEEPALIVE_S) });
    procs.push(new KumoProc('engine', st.env), new KumoProc('sip', st.env));
    for (const p of procs) p.start();
    await waitFor(async () => (await ready(st.ops.engine)) && (await ready(st.ops.sip)), 30_000, 'processes ready');
  });
  afterAll(async () => {
    for (const p of procs) await p.kill('SIGKILL');
    st.redis.disconnect();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a phone killed mid-call: the carrier leg is released within two keep-alive intervals, CDR end cause keepalive-timeout', async () => {
    const carrier = startCarrier(dir, st.carrierPort, 1, 60);
    const phone = phoneCalls(dir, { ...PHONE, target: st.sipTarget, service: '00312345678', calls: 1, rate: 1, holdMs: 60_000, timeoutS: 60, name: 'vanishing' });
    await waitFor(() => carrierLog(carrier.log).answered.size === 1, 15_000, 'call established');
    // Gone before the first probe reaches it (sipp would not answer OPTIONS anyway).
    phone.process.kill('SIGKILL');
    const killedAt = Date.now();
    await waitFor(() => carrierLog(carrier.log).ended.size === 1, 10_000, 'carrier leg released');
    const releasedMs = Date.now() - killedAt;
    process.stdout.write(`keep-alive: carrier leg released ${releasedMs} ms after the phone vanished (interval ${KEEPALIVE_S} s)\n`);
    expect(releasedMs).toBeLessThan(2 * KEEPALIVE_S * 1000 + 1500);
    await waitFor(async () => (await readCdrs(st)).some((c) => c.calleeDialled === '00312345678'), 5_000, 'CDR published');
    const [cdr] = (await readCdrs(st)).filter((c) => c.calleeDialled === '00312345678');
    expect(cdr).toMatchObject({ disposition: 'answered', endCause: 'keepalive-timeout', hangupBy: 'system' });
    const log = carrierLog(carrier.log);
    const [[id, at]] = [...log.answered];
    expect(Math.abs((cdr?.billableMs ?? 0) - ((log.ended.get(id) ?? 0) - at))).toBeLessThan(1000);
    const metrics = await (await fetch(`http://${st.ops.sip}/metrics`)).text();
    expect(metrics).toMatch(/kumo_sip_calls_ended_by_system_total\{cause="keepalive-timeout",proc="sip"\} 1/);
    expect(metrics).toMatch(/kumo_sip_calls_in_progress\{proc="sip"\} 0/);
    await carrier.sipp.stop();
  });
});
