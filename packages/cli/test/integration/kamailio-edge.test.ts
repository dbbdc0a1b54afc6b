/**
 * The Kamailio edge (issue 13, docs/scaling.md): infra/kamailio/kamailio.cfg on loopback in front of
 * two Kumo engine + sip stacks sharing one redis-server. sipp phones register through the edge (the
 * edge adds Path, Kumo stores it), a call between phones registered through different engines
 * connects through the edge, and when one engine is SIGKILLed the edge's dispatcher marks it down
 * (OPTIONS probes) and new calls succeed within 2 s. With KUMO_TEST_DRACHTIO_BIN the second engine is
 * the C++ drachtio-server (the first, the one killed, stays Kumo's engine).
 * Skips when kamailio or sipp is not installed (`packages/cli/scripts/ensure-deps.sh` installs both).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { register, runSipp, startSipp, uasAnswer, freePort, type SippHandle } from '@kumo/testkit';
import { PHONE, oneCall } from './helpers/kumo-procs.js';
import { CALLEE, EDGE_HOST, KAMAILIO, OPTIONS_XML, SIPP, registeredOk, startEdge, type EdgeSetup } from './helpers/kamailio-edge.js';

if (!KAMAILIO || !SIPP) process.stdout.write('kamailio-edge: skipped — kamailio or sipp is not installed (apt-get install kamailio sip-tester; packages/cli/scripts/ensure-deps.sh)\n');

describe.skipIf(!KAMAILIO || !SIPP)('Kamailio edge in front of two engines (infra/kamailio/kamailio.cfg)', () => {
  let e: EdgeSetup;
  let answering: SippHandle | undefined;
  const calleePort = { n: 0 };

  beforeAll(async () => {
    // With KUMO_TEST_DRACHTIO_BIN the second engine is the C++ drachtio-server.
    e = await startEdge(process.env.KUMO_TEST_DRACHTIO_BIN ? { drachtioBin: process.env.KUMO_TEST_DRACHTIO_BIN } : {});
  }, 90_000);

  afterAll(async () => {
    await answering?.stop();
    await e?.stop();
  });

  it('phones register through the edge on different engines; the binding keeps the Path and the phone as source', async () => {
    const caller = await runSipp({ scenario: e.file('reg-caller', register(PHONE)), target: e.edge, calls: 1, timeoutS: 10 });
    expect(caller.ok, caller.errors).toBe(true);
    // The callee registers from the port it then answers on; until the two REGISTERs were answered by
    // different engines, shift the dispatcher's round robin by one OPTIONS and register again.
    calleePort.n = await freePort();
    for (let i = 0; ; i++) {
      const r = await runSipp({ scenario: e.file('reg-callee', register(CALLEE)), target: e.edge, localPort: calleePort.n, calls: 1, timeoutS: 10 });
      expect(r.ok, r.errors).toBe(true);
      const counts = await Promise.all(e.stacks.map((s) => registeredOk(s.ops)));
      if (counts.every((c) => c > 0)) break;
      expect(i, `REGISTER 200s by engine: ${counts.join(', ')}`).toBeLessThan(4);
      await runSipp({ scenario: e.file('options', OPTIONS_XML), target: e.edge, calls: 1, timeoutS: 3 });
    }
    const [b] = await e.bindingsOf(CALLEE.user);
    expect(b?.source).toEqual({ address: '127.0.0.1', port: calleePort.n, transport: 'udp' });
    expect(b?.path?.[0]).toMatch(new RegExp(`^<sip:${EDGE_HOST.replace(/\./g, '\\.')}:${e.edge.split(':')[1]};lr;received=sip:127\\.0\\.0\\.1:${calleePort.n}`));
  }, 60_000);

  it('calls connect through the edge whichever engine takes them; one engine SIGKILLed → new calls succeed within 2 s', async () => {
    answering = startSipp({ scenario: e.file('answer', uasAnswer(200, { user: CALLEE.user })), localPort: calleePort.n, calls: 100, timeoutS: 90 });
    const call = async (name: string): Promise<{ ok: boolean; ms: number; detail: string }> => {
      const t = Date.now();
      const r = await oneCall(e.dir, { ...PHONE, target: e.edge, service: CALLEE.user, name });
      return { ok: r.ok, ms: Date.now() - t, detail: `${r.errors.slice(-800)}` };
    };
    // Calls spread over both engines (by Call-ID), each reaching the callee through its Path.
    const before: number[] = [];
    for (const n of [1, 2, 3, 4]) {
      const r = await call(`before-${n}`);
      expect(r.ok, `${r.detail}\n--- kamailio:\n${e.log().slice(-2000)}`).toBe(true);
      before.push(r.ms);
    }

    const dead = e.stacks[0] as (typeof e.stacks)[number];
    await dead.engine?.kill('SIGKILL');
    const killedAt = Date.now();
    const after: { ok: boolean; ms: number; at: number }[] = [];
    // New calls from the moment of the kill: a call sent to the dead engine fails over after the edge's
    // 1 s transaction timer; once the probes marked it down, calls go straight to the live engine.
    while (Date.now() - killedAt < 4000 || !after.some((a) => a.at >= 2000)) {
      const at = Date.now() - killedAt;
      const r = await call(`after-${after.length}`);
      after.push({ ok: r.ok, ms: r.ms, at });
      expect(r.ok, `call ${at} ms after the kill: ${r.detail}\n--- kamailio:\n${e.log().slice(-2000)}`).toBe(true);
    }
    process.stdout.write(
      `kamailio-edge: whole sipp calls before the kill ${before.join(', ')} ms; after one engine SIGKILL (start ms → duration ms): ${after.map((a) => `${a.at}→${a.ms}`).join(', ')}\n`,
    );
    // Every call placed after the kill connected. A sipp call's own duration on this machine is `before`
    // (process start, digest round trip, 200 ms hold, BYE); what the kill adds must stay under 2 s for
    // the first call (it may hit the dead engine once: the edge's 1 s transaction timer, then failover)
    // and vanish for calls started 2 s after the kill (the probes marked the engine down).
    const usual = Math.max(...before);
    expect((after[0]?.ms ?? 99_999) - usual).toBeLessThan(2000);
    const late = after.filter((x) => x.at >= 2000);
    expect(late.length).toBeGreaterThan(0);
    for (const a of late) expect(a.ms - usual, `call ${a.at} ms after the kill still waited for the dead engine`).toBeLessThan(900);
  }, 60_000);
});
