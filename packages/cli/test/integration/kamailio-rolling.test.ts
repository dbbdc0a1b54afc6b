/**
 * Rolling restart behind the Kamailio edge (issue 13, docs/scaling.md, docs/operations.md): under
 * steady sipp load through infra/kamailio/kamailio.cfg (calls of a few seconds between two phones
 * registered through the edge), engine A and its sip process are restarted, then engine B. The sip
 * process is stopped with SIGTERM: it drains (new INVITEs and the dispatcher's OPTIONS probes get
 * 503 shutting-down, so the edge sends new calls to the other engine), exits once its calls have
 * ended, then the engine is stopped and both start again; the next engine goes only once the edge
 * sends calls to the restarted one. Every call connects, none is cut short, each has its CDR.
 * Skips when kamailio or sipp is not installed (`packages/cli/scripts/ensure-deps.sh` installs both).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, register, runSipp, startSipp, uasAnswer, type SippHandle } from '@kumo/testkit';
import { PHONE, phoneCalls, readCdrs, ready, waitFor } from './helpers/kumo-procs.js';
import { CALLEE, KAMAILIO, SIPP, counter, startEdge, type EdgeSetup, type EngineStack } from './helpers/kamailio-edge.js';

if (!KAMAILIO || !SIPP) process.stdout.write('kamailio-rolling: skipped — kamailio or sipp is not installed (apt-get install kamailio sip-tester; packages/cli/scripts/ensure-deps.sh)\n');

/** Calls placed, per second, and how long each is held (ms). */
const CALLS = 60;
const RATE = 3;
const HOLD_MS = 2500;

/** Calls this sip process has taken (finished or in progress). */
const taken = async (s: EngineStack): Promise<number> => (await counter(s.ops, 'kumo_sip_calls_total', 'disposition="answered"')) + (await counter(s.ops, 'kumo_sip_active_calls'));

describe.skipIf(!KAMAILIO || !SIPP)('rolling restart of both engines behind the Kamailio edge', () => {
  let e: EdgeSetup;
  const sipps: SippHandle[] = [];

  beforeAll(async () => {
    e = await startEdge();
  }, 90_000);

  afterAll(async () => {
    for (const s of sipps) await s.stop();
    await e?.stop();
  });

  /** Drains and restarts one engine with its sip process; resolves once the edge gives it new calls again. */
  const restart = async (s: EngineStack): Promise<{ drainMs: number; backMs: number }> => {
    const engine = s.engine as NonNullable<EngineStack['engine']>;
    await waitFor(async () => (await counter(s.ops, 'kumo_sip_active_calls')) > 0, 10_000, 'the engine carries calls when it is restarted');
    const t0 = Date.now();
    await s.sip.kill('SIGTERM', 40_000);
    const drainMs = Date.now() - t0;
    expect(s.sip.child?.exitCode, `sip exit after drain\n${s.sip.output.slice(-2000)}`).toBe(0);
    await engine.kill('SIGTERM');
    engine.start();
    s.sip.start();
    await waitFor(async () => (await ready(s.engineOps)) && (await ready(s.ops)), 30_000, 'restarted stack ready');
    // Its probes answered 200 again: the edge's dispatcher sends it new calls.
    await waitFor(async () => (await taken(s)) > 0, 20_000, `the edge sends calls to the restarted engine\n--- kamailio:\n${e.log().slice(-2000)}`);
    return { drainMs, backMs: Date.now() - t0 };
  };

  it('engine A then engine B restarted under load: 0 failed calls, 0 calls cut short, a CDR for every call', async () => {
    const calleePort = await freePort();
    const reg = await runSipp({ scenario: e.file('reg-callee', register(CALLEE)), target: e.edge, localPort: calleePort, calls: 1, timeoutS: 10 });
    expect(reg.ok, reg.errors).toBe(true);
    const callee = startSipp({ scenario: e.file('answer', uasAnswer(200, { user: CALLEE.user })), localPort: calleePort, calls: CALLS, timeoutS: 150 });
    sipps.push(callee);
    const load = phoneCalls(e.dir, { ...PHONE, target: e.edge, service: CALLEE.user, calls: CALLS, rate: RATE, holdMs: HOLD_MS, timeoutS: 150, name: 'load' });
    sipps.push(load);
    const started = Date.now();
    // Both engines take calls (round robin) before anything is restarted.
    await waitFor(async () => (await Promise.all(e.stacks.map((s) => counter(s.ops, 'kumo_sip_active_calls')))).every((n) => n > 0), 20_000, 'both engines carry calls');

    const phases: string[] = [];
    for (const s of e.stacks) {
      const r = await restart(s);
      phases.push(`${s.sipTarget}: drained in ${r.drainMs} ms, taking calls again after ${r.backMs} ms`);
    }
    const restartsDone = Date.now() - started;

    const r = await load.done;
    await callee.stop();
    process.stdout.write(`kamailio-rolling: ${CALLS} calls at ${RATE}/s held ${HOLD_MS} ms; ${phases.join('; ')}; both restarts done ${restartsDone} ms into the load of ${r.durationMs} ms\n`);
    // The restarts happened while calls were still being placed.
    expect(restartsDone).toBeLessThan(r.durationMs);
    // (sipp logs every call's hold timer expiring as an "error": not a failure.)
    const errors = r.errors.split(/(?=\d{4}-\d\d-\d\d\s)/).filter((l) => !l.includes('jumping to label'));
    expect(r.failed, `${errors.join('').slice(-3000)}\n--- kamailio:\n${e.log().slice(-2000)}`).toBe(0);
    expect(r.successful).toBe(CALLS);

    // Every call has its CDR, answered and ended by the caller (no call cut short by a restart).
    await waitFor(async () => (await readCdrs(e.st)).filter((c) => c.disposition === 'answered').length >= CALLS, 15_000, 'a CDR for every call');
    const cdrs = await readCdrs(e.st);
    const answered = cdrs.filter((c) => c.disposition === 'answered');
    expect(new Set(answered.map((c) => c.callIdA)).size).toBe(CALLS);
    const cut = answered.filter((c) => c.endCause !== undefined || c.hangupBy !== 'caller');
    expect(cut.map((c) => `${c.callIdA} ${c.endCause} ${c.hangupBy}`)).toEqual([]);
    // INVITEs that reached a draining process before the edge's probe saw it draining were refused
    // before authentication (no CDR there) and sent on by the edge, not failed back to the caller.
    const sentOn = e.log().split('\n').filter((l) => l.includes('is draining;')).length;
    process.stdout.write(`kamailio-rolling: ${answered.length} answered CDRs; ${sentOn} INVITEs refused by a draining process and sent on by the edge\n`);
  }, 180_000);
});
