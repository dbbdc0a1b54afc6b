/**
 * Chaos (issue 11, docs/reliability.md): steady answered outbound calls from a sipp phone
 * through a sipp carrier while the sip process, the engine, the billing worker and
 * redis-server are each SIGKILLed, and the sip process once SIGTERMed — all real processes.
 * Afterwards every call the carrier saw answered has exactly one CDR, booked once by billing,
 * billed within 2 s of the carrier-side duration; no carrier leg is left up; ports and trunk
 * channels are back to 0; 110 connects again after each restart (outage printed per kill).
 */
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Cdr } from '@kumo/domain';
import { AdmissionStore, type KeySchema, type RedisClient } from '@kumo/store';
import { startRedis, type RedisHandle } from '@kumo/testkit';
import { KumoProc, PHONE, TENANT, carrierLog, oneCall, phoneCalls, readCdrs, ready, relStack, startCarrier, waitFor, type RelStack } from './helpers/kumo-procs.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Sends INVITEs with unusable Via ports (0, 70000) to the engine over UDP. */
async function poison(target: string): Promise<void> {
  const [host, port] = target.split(':') as [string, string];
  const sock = createSocket('udp4');
  for (const [i, viaPort] of [0, 70000].entries()) {
    const msg = [
      `INVITE sip:2001@${host}:${port} SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:${viaPort};branch=z9hG4bK-poison-${i}`,
      `From: <sip:x@${host}>;tag=p${i}`,
      `To: <sip:2001@${host}>`,
      `Call-ID: poison-${i}@chaos`,
      'CSeq: 1 INVITE',
      'Max-Forwards: 70',
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n');
    await new Promise<void>((r) => sock.send(msg, Number(port), host, () => r()));
  }
  await sleep(200);
  sock.close();
}

describe('chaos: every answered call is billed once when processes die', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kumo-chaos-'));
  let redisServer: RedisHandle;
  let st: RelStack;
  let redis: RedisClient;
  let keys: KeySchema;
  const procs: KumoProc[] = [];
  let engine: KumoProc;
  let sip: KumoProc;
  let billing: KumoProc;
  let sipTarget = '';

  beforeAll(async () => {
    redisServer = await startRedis({ settings: { appendonly: 'yes', appendfsync: 'always' } });
    st = await relStack(redisServer.url, { KUMO_LOG_LEVEL: process.env.CHAOS_LOG_LEVEL ?? 'warn', KUMO_SIP_DRAIN_GRACE_MS: '4000' });
    ({ redis, keys, sipTarget } = st);
    engine = new KumoProc('engine', st.env);
    sip = new KumoProc('sip', st.env);
    billing = new KumoProc('billing', st.env);
    procs.push(engine, sip, billing);
    for (const p of procs) p.start();
    await waitFor(async () => (await ready(st.ops.engine)) && (await ready(st.ops.sip)) && (await ready(st.ops.billing)), 30_000, 'processes ready');
  });

  afterAll(async () => {
    if (process.env.CHAOS_LOG_DIR) for (const p of procs) writeFileSync(join(process.env.CHAOS_LOG_DIR, `${p.name}.log`), p.output);
    for (const p of procs) await p.kill('SIGKILL');
    redis?.disconnect();
    await redisServer?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('sip, engine, billing and redis-server SIGKILLed, sip SIGTERMed: one CDR per answered call, billed once, nothing left up', async () => {
    const carrier = startCarrier(dir, st.carrierPort, 100_000, 240);
    // 3 calls/s of 2 s: about 6 answered calls in progress whenever something dies.
    const traffic = phoneCalls(dir, { ...PHONE, target: sipTarget, service: '00312345678', calls: 100, rate: 3, holdMs: 2000, timeoutS: 120, name: 'traffic' });
    const outages: { kill: string; outageMs: number }[] = [];
    const emergencyAfterRestart = async (kill: string, restartedAt: number): Promise<void> => {
      let n = 0;
      for (;;) {
        const r = await oneCall(dir, { ...PHONE, target: sipTarget, service: '110', name: `e${outages.length}-${n++}` });
        if (r.ok) break;
        if (Date.now() - restartedAt > 30_000) {
          throw new Error(`110 does not connect after ${kill}: code ${r.code} ok ${r.successful} failed ${r.failed} ${r.stderr.slice(-500)} ${r.errors.slice(-1500)}\n--- sip:\n${sip.output.slice(-3000)}\n--- engine:\n${engine.output.slice(-1500)}`);
        }
      }
      outages.push({ kill, outageMs: Date.now() - restartedAt });
    };
    const restartAfter = async (kill: string, p: KumoProc, signal: NodeJS.Signals): Promise<void> => {
      await sleep(3000);
      await p.kill(signal);
      p.start();
      await emergencyAfterRestart(kill, Date.now());
    };

    // Poison first (issue 11): INVITEs whose Via port is 0 or above 65535 must not leave anything behind
    // that stops the engine's clean-up when the sip process dies next (every carrier leg is checked below).
    await poison(sipTarget);
    await restartAfter('sip SIGKILL', sip, 'SIGKILL');
    await restartAfter('engine SIGKILL', engine, 'SIGKILL');
    await restartAfter('billing SIGKILL', billing, 'SIGKILL');
    await sleep(3000);
    await redisServer.restart({ signal: 'SIGKILL' });
    await emergencyAfterRestart('redis-server SIGKILL', Date.now());
    await restartAfter('sip SIGTERM', sip, 'SIGTERM');
    process.stdout.write(`chaos outages (restart → 110 connected): ${outages.map((o) => `${o.kill} ${o.outageMs} ms`).join('; ')}\n`);

    // The phone finishes its calls (each bounded by -recv_timeout): a phone killed mid-call would leave a hung call (see the keep-alive test).
    const t = await traffic.done;
    process.stdout.write(`chaos: phone ${t.successful} calls completed, ${t.failed} failed\n`);
    // Every carrier leg gets its BYE, and the ports and channels come back.
    const admission = new AdmissionStore(redis, keys, { leaseTtlMs: 120_000, floodWindowMs: 60_000 });
    const settled = Date.now();
    await waitFor(
      () => {
        const l = carrierLog(carrier.log);
        return [...l.answered.keys()].every((id) => l.ended.has(id));
      },
      20_000,
      'every answered carrier leg hung up',
    ).catch(() => undefined);
    await waitFor(
      async () => {
        const c = await admission.counters(TENANT, { trunkId: 'carrier', now: Date.now() });
        return c.activeCalls === 0 && c.trunkChannels === 0 && c.tenantTrunkChannels === 0;
      },
      15_000,
      'ports and trunk channels back to 0',
    ).catch(async (err: unknown) => {
      const held = await redis.zrange(keys.tenant.admissionCalls(TENANT), 0, -1, 'WITHSCORES');
      const owners = await redis.zrange(keys.global.callOwners(), 0, -1, 'WITHSCORES');
      const l = carrierLog(carrier.log);
      process.stdout.write(
        `chaos: leases still held ${JSON.stringify(held)} owners ${JSON.stringify(owners)} carrier legs up ${[...l.answered.keys()].filter((id) => !l.ended.has(id)).length}\n--- sip\n${sip.output.slice(-6000)}\n--- engine\n${engine.output.slice(-3000)}\n`,
      );
      throw err;
    });
    process.stdout.write(`chaos: leases back to 0 ${Date.now() - settled} ms after the traffic stopped\n`);
    await carrier.sipp.stop();
    const log = carrierLog(carrier.log);
    const leftUp = [...log.answered.keys()].filter((id) => !log.ended.has(id));
    expect(leftUp, 'carrier legs never hung up').toEqual([]);

    // CDRs: exactly one per call the carrier saw answered, billed within 2 s of the carrier's duration.
    const cdrs = await readCdrs(st);
    const byB = new Map<string, Cdr[]>();
    for (const c of cdrs) if (c.callIdB !== null) byB.set(c.callIdB, [...(byB.get(c.callIdB) ?? []), c]);
    const problems: string[] = [];
    const drift: number[] = [];
    for (const [callId, at] of log.answered) {
      const mine = byB.get(callId) ?? [];
      const ids = new Set(mine.map((c) => c.cdrId));
      if (ids.size !== 1) {
        problems.push(`${callId}: ${ids.size} CDRs`);
        continue;
      }
      const cdr = mine[0] as Cdr;
      const carrierMs = (log.ended.get(callId) as number) - at;
      drift.push(Math.abs(cdr.billableMs - carrierMs));
      if (Math.abs(cdr.billableMs - carrierMs) > 2000) problems.push(`${callId}: billed ${cdr.billableMs} ms, carrier ${carrierMs} ms (${cdr.endCause ?? 'normal'})`);
    }
    const causes = cdrs.reduce<Record<string, number>>((m, c) => {
      const k = `${c.calleeDialled}/${c.disposition}/${c.rejectionReason ?? c.finalStatus}/${c.endCause ?? 'normal'}`;
      return { ...m, [k]: (m[k] ?? 0) + 1 };
    }, {});
    process.stdout.write(
      `chaos: ${log.answered.size} calls answered at the carrier, ${cdrs.length} CDRs (${JSON.stringify(causes)}), max |billed − carrier| ${Math.max(0, ...drift)} ms\n`,
    );
    expect(log.answered.size).toBeGreaterThan(40);
    expect(problems).toEqual([]);

    // Billing booked each of them once (the per-call record is keyed by cdrId) with the CDR's seconds.
    const wanted = new Map([...log.answered.keys()].map((id) => [(byB.get(id) as Cdr[])[0]?.cdrId as string, (byB.get(id) as Cdr[])[0] as Cdr]));
    const booked = async (): Promise<Map<string, { billableSeconds: number }>> => {
      const out = new Map<string, { billableSeconds: number }>();
      for (const m of await redis.smembers(keys.global.billMonths())) {
        for (const [id, v] of Object.entries(await redis.hgetall(keys.tenant.billCalls(TENANT, m)))) out.set(id, JSON.parse(v) as { billableSeconds: number });
      }
      return out;
    };
    await waitFor(async () => {
      const b = await booked();
      return [...wanted.keys()].every((id) => b.has(id));
    }, 20_000, 'billing booked every answered call');
    const b = await booked();
    for (const [id, cdr] of wanted) expect(b.get(id)?.billableSeconds, id).toBe(cdr.billableSeconds);
    // The issue's bound: 110 connects again within 5 s of each restart. Measured 1.3–2.3 s in CI and up to 3.8 s with
    // eight agents sharing the 2 cores (a node process start dominates).
    for (const o of outages) expect(o.outageMs, o.kill).toBeLessThan(5000);
  }, 240_000);
});
