/**
 * Graceful stop of the sip process (docs/reliability.md), real processes: on Ctrl-C with 50
 * established calls, new INVITEs get 503 + Retry-After, the 50 calls go on until their own BYE,
 * every call has its CDR and the process exits once they are over. Calls still up when the grace
 * runs out are ended by Kumo (BYE to both parties), with CDRs (end cause `shutdown`) written
 * before the engine link closes.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startSipp } from '@kumo/testkit';
import { KumoProc, PHONE, carrierLog, phoneCalls, readCdrs, ready, refusedUac, relStack, startCarrier, waitFor, type RelStack } from './helpers/kumo-procs.js';

describe('drain on SIGINT/SIGTERM', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kumo-drain-'));
  let st: RelStack;
  let engine: KumoProc;
  const procs: KumoProc[] = [];

  beforeAll(async () => {
    st = await relStack(inject('redisUrl'));
    engine = new KumoProc('engine', st.env);
    procs.push(engine);
    engine.start();
    await waitFor(() => ready(st.ops.engine), 30_000, 'engine ready');
  });
  afterAll(async () => {
    for (const p of procs) await p.kill('SIGKILL');
    st.redis.disconnect();
    rmSync(dir, { recursive: true, force: true });
  });

  const startSip = async (graceMs: number): Promise<KumoProc> => {
    const sip = new KumoProc('sip', { ...st.env, KUMO_SIP_DRAIN_GRACE_MS: String(graceMs) });
    procs.push(sip);
    sip.start();
    await waitFor(() => ready(st.ops.sip), 30_000, 'sip ready');
    return sip;
  };

  it('Ctrl-C with 50 established calls: they end with their own BYE, new calls get 503 + Retry-After, every call has its CDR', async () => {
    const sip = await startSip(30_000);
    const carrier = startCarrier(dir, st.carrierPort, 50, 60);
    const calls = phoneCalls(dir, { ...PHONE, target: st.sipTarget, service: '00312345678', calls: 50, rate: 50, holdMs: 5000, timeoutS: 40, name: 'drain50' });
    await waitFor(() => carrierLog(carrier.log).answered.size === 50, 20_000, '50 calls established');
    const sigintAt = Date.now();
    sip.child?.kill('SIGINT');
    await waitFor(async () => !(await ready(st.ops.sip)), 5_000, 'readiness off while draining');
    const refusedFile = join(dir, 'refused.xml');
    writeFileSync(refusedFile, refusedUac({ ...PHONE, status: 503 }));
    const refused = await startSipp({ scenario: { file: refusedFile }, target: st.sipTarget, service: '00312345678', calls: 1, timeoutS: 10 }).done;
    expect(refused.ok, refused.errors).toBe(true);

    const phones = await calls.done;
    expect(phones.successful, phones.errors.slice(0, 2000)).toBe(50);
    expect(await sip.waitExit(10_000), 'sip exits once its calls are over').toBe(true);
    const exitedAfterMs = Date.now() - sigintAt;
    await carrier.sipp.stop();
    const log = carrierLog(carrier.log);
    const durations = [...log.answered].map(([id, at]) => (log.ended.get(id) ?? Number.NaN) - at);
    // Each call lasted its full hold (minus the time the call was already up at Ctrl-C), none was cut.
    expect(durations.every((d) => d >= 2500 && d < 8000), JSON.stringify(durations)).toBe(true);
    const cdrs = (await readCdrs(st)).filter((c) => c.calleeDialled === '00312345678');
    const answered = cdrs.filter((c) => c.disposition === 'answered');
    expect(answered).toHaveLength(50);
    expect(answered.every((c) => c.endCause === undefined && c.hangupBy === 'caller')).toBe(true);
    expect(cdrs.filter((c) => c.rejectionReason === 'shutting-down')).toHaveLength(1);
    process.stdout.write(`drain: sip exited ${exitedAfterMs} ms after Ctrl-C (50 calls of 5 s in progress)\n`);
    expect(exitedAfterMs).toBeLessThan(15_000);
  });

  it('calls still up when the grace ends are ended by Kumo, with CDRs (end cause shutdown) written before the engine link closes', async () => {
    const sip = await startSip(1500);
    const carrier = startCarrier(dir, st.carrierPort, 5, 60);
    const calls = phoneCalls(dir, { ...PHONE, target: st.sipTarget, service: '00312345678', calls: 5, rate: 10, holdMs: 30_000, timeoutS: 40, name: 'drainlong' });
    await waitFor(() => carrierLog(carrier.log).answered.size === 5, 20_000, '5 calls established');
    const before = (await readCdrs(st)).length;
    const t0 = Date.now();
    await sip.kill('SIGTERM');
    const stoppedMs = Date.now() - t0;
    // The CDRs are there the moment the process has exited: written before the engine link closed.
    const cdrs = (await readCdrs(st)).slice(before);
    expect(cdrs).toHaveLength(5);
    expect(cdrs.every((c) => c.disposition === 'answered' && c.endCause === 'shutdown' && c.hangupBy === 'system')).toBe(true);
    await waitFor(() => carrierLog(carrier.log).ended.size === 5, 5_000, 'carrier legs got their BYE');
    const phones = await calls.done;
    expect(phones.successful, phones.errors.slice(0, 2000)).toBe(5);
    await carrier.sipp.stop();
    expect(stoppedMs).toBeGreaterThanOrEqual(1500);
    expect(stoppedMs).toBeLessThan(10_000);
  });
});
