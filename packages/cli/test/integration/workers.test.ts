/**
 * Several sip workers on one engine (issue 13, docs/scaling.md), all real processes: `kumo engine`
 * and two `kumo sip` workers on one redis-server, sipp phones and a sipp carrier.
 *
 * The engine hands new INVITEs to its workers round-robin, so placement is driven: the test counts
 * the INVITEs it sends, learns which worker took a call from the Redis ringing / bridged-leg index,
 * and sends one throw-away INVITE (unknown domain → 403) when the next call must land on the other
 * worker. Then: group and directed pickup with the ringing call and the picker on different workers
 * (BYE and re-INVITE/hold relayed both ways), INVITE with Replaces for a leg the other worker holds,
 * attended transfer (REFER with Replaces) between calls on different workers,
 * a rolling restart of both workers under steady load with no failed call, and a SIGKILLed worker
 * under load: the survivor takes new calls at once and the dead worker's calls get their CDRs.
 */
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateExtension, validatePickupGroup, type Cdr } from '@kumo/domain';
import { LocationStore, ProvisioningRepo, SYSTEM_ACTOR } from '@kumo/store';
import { freePort, startRedis, startSipp, uacCall, uasAnswer, uasRingCancel, uasTransferor, type RedisHandle, type SippHandle, type SippResult, type UacCall } from '@kumo/testkit';
import { KumoProc, PHONE, TENANT, DOMAIN, carrierLog, oneCall, phoneCalls, readCdrs, ready, relStack, startCarrier, waitFor, type RelStack } from './helpers/kumo-procs.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const explain = (r: SippResult): string => `sipp exit ${r.code}: ${r.errors.slice(-1500)} ${r.stderr.slice(-300)}`;

/** A registered phone calling `[service]` with digest (407 first), then `mode`; `more`: e.g. extra INVITE headers. */
const dial = (u: { user: string; password: string }, mode: NonNullable<UacCall['mode']>, more: Partial<UacCall> = {}): string =>
  uacCall({ user: u.user, password: u.password, domain: DOMAIN, expect: 200, mode, ...more });

/** A phone that rings until CANCELled with `Reason: … Call completed elsewhere` (a pickup took the call). */
const ringsUntilPickedUp = uasRingCancel({ reason: 'elsewhere', user: 'phone' });

/** A phone that answers and waits for the BYE. */
const answers = uasAnswer(200, { user: 'phone' });

/** A phone that answers, then answers the re-INVITE that joins it to someone else, then waits for the BYE. */
const answersThenJoined = uasAnswer(200, { user: 'phone', reinvite: true });

/** A bridged leg: its dialog ids (Call-ID, Kumo's tag, the far end's tag) and the index of the worker holding it. */
type Leg = { ids: [string, string, string]; worker: number };

const users = { a: PHONE, b: { user: '2002', password: 'pass2002x' }, c: { user: '2003', password: 'pass2003x' }, d: { user: '2004', password: 'pass2004x' } };

describe('several sip workers on one engine', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kumo-workers-'));
  if (process.env.WORKERS_KEEP) process.stdout.write(`workers test files in ${dir}\n`);
  let redisServer: RedisHandle;
  let st: RelStack;
  let engine: KumoProc;
  const workers: { proc: KumoProc; ops: string }[] = [];
  let location: LocationStore;
  /** INVITEs handed to the workers so far (the engine's round-robin position). */
  let invites = 0;
  let n = 0;

  const file = (xml: string): { file: string } => {
    const f = join(dir, `s${n++}.xml`);
    writeFileSync(f, xml);
    return { file: f };
  };
  const startWorker = (i: number): void => {
    const ops = workers[i]?.ops as string;
    const proc = new KumoProc('sip', { ...st.env, KUMO_SIP_OPS_LISTEN: ops });
    proc.start();
    workers[i] = { proc, ops };
  };
  const workerOf = (owner: string): number => workers.findIndex((w) => owner.split(':')[1] === String(w.proc.child?.pid));
  const inProgress = async (ops: string): Promise<number> => {
    const text = await (await fetch(`http://${ops}/metrics`)).text();
    return Number(/^kumo_sip_calls_in_progress(?:\{[^}]*\})? (\d+)/m.exec(text)?.[1] ?? 0);
  };
  /** Whether both workers had a call in progress at one moment while `h` ran. */
  const onBothWorkers = async (h: SippHandle): Promise<boolean> => {
    let running = true;
    void h.done.finally(() => (running = false));
    while (running) {
      const [a, b] = await Promise.all(workers.map((w) => inProgress(w.ops).catch(() => 0)));
      if ((a ?? 0) > 0 && (b ?? 0) > 0) return true;
      await sleep(100);
    }
    return false;
  };
  /** Waits for `h`: its calls succeed, and both workers had a call in progress at one moment meanwhile. */
  const succeedsOnBothWorkers = async (h: SippHandle): Promise<void> => {
    const both = await onBothWorkers(h);
    const r = await h.done;
    expect(r.ok, `${explain(r)}\n${logs()}`).toBe(true);
    expect(both, logs()).toBe(true);
  };
  const logs = (): string => workers.map((w, i) => `--- sip ${i}\n${w.proc.output.slice(-3000)}`).join('\n') + `\n--- engine\n${engine.output.slice(-1500)}`;

  /** A sipp UAS registered as `ext` (binding written as the registrar would). */
  async function phone(ext: string, xml: string): Promise<SippHandle> {
    const port = await freePort();
    const trace = process.env.WORKERS_KEEP ? { args: ['-trace_msg', '-message_file', join(dir, `msg-uas-${n++}.log`)] } : {};
    const h = startSipp({ scenario: file(xml), localPort: port, calls: 1, timeoutS: 30, ...trace });
    await location.register({
      tenantId: TENANT,
      extension: ext,
      callId: `reg-${ext}-${port}`,
      cseq: n++,
      maxContacts: 5,
      policy: 'replace-oldest',
      mode: 'update',
      updates: [{ id: `b${port}`, expires: 300, contact: `sip:${ext}@127.0.0.1:${port}`, source: { address: '127.0.0.1', port, transport: 'udp' } }],
    });
    return h;
  }
  /** A phone's call through the engine (two INVITEs: the digest challenge, then the call). */
  function call(service: string, xml: string): SippHandle {
    invites += 2;
    const trace = process.env.WORKERS_KEEP ? { args: ['-trace_msg', '-message_file', join(dir, `msg-${n++}.log`)] } : {};
    return startSipp({ scenario: file(xml), target: st.sipTarget, service, calls: 1, timeoutS: 30, ...trace });
  }
  /** One INVITE the workers refuse (unknown domain → 403): moves the engine's round-robin on by one. */
  async function nudge(): Promise<void> {
    invites += 1;
    const [host, port] = st.sipTarget.split(':') as [string, string];
    const sock = createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    const local = sock.address().port;
    const branch = `z9hG4bK-nudge-${n++}`;
    const head = (m: string, extra: string) =>
      [`${m} sip:1@nowhere.invalid SIP/2.0`, `Via: SIP/2.0/UDP 127.0.0.1:${local};branch=${branch};rport`, `From: <sip:x@nowhere.invalid>;tag=nudge${n}`, extra, `Call-ID: nudge-${n}@workers`, `CSeq: 1 ${m}`, 'Max-Forwards: 70', 'Content-Length: 0', '', ''].join('\r\n');
    const final = new Promise<string>((resolve) =>
      sock.on('message', (b) => {
        const s = b.toString();
        if (/^SIP\/2\.0 [2-6]\d\d/.test(s)) resolve(/^To: .*$/im.exec(s)?.[0] ?? 'To: <sip:1@nowhere.invalid>');
      }),
    );
    sock.send(head('INVITE', 'To: <sip:1@nowhere.invalid>'), Number(port), host);
    const to = await Promise.race([final, sleep(5000).then(() => undefined)]);
    if (to !== undefined) await new Promise<void>((r) => sock.send(head('ACK', to), Number(port), host, () => r()));
    sock.close();
    if (to === undefined) throw new Error('the nudge INVITE got no final response');
  }
  /** After INVITE number `at` went to worker `w`: nudge so that the next call's authenticated INVITE goes to the other one. */
  async function nextCallOnOtherThan(w: number, at: number): Promise<void> {
    // With two workers, INVITE k goes to w when k − at is even; the call's second INVITE is number invites + 2.
    if ((invites + 2 - at) % 2 === 0) await nudge();
    void w;
  }
  /** The worker whose pid is in the Redis index entry `pattern` matches (ringing index or bridged legs). */
  async function ringingOwner(ext: string): Promise<number> {
    let owner = '';
    await waitFor(async () => {
      const m = await st.redis.zrange(st.keys.tenant.ringingExt(TENANT, ext), 0, -1);
      owner = m[0]?.split(' ')[0] ?? '';
      return owner !== '';
    }, 10_000, `a call ringing ${ext} in the index`).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${logs()}`);
    });
    return workerOf(owner);
  }
  /**
   * The Redis bridged-leg index of the one call up: `a` the caller's leg (its Call-ID is the call
   * record's), `b` Kumo's leg to the callee; `detail` what was found, for a failure message.
   */
  async function bridgedLegs(what: string): Promise<{ a?: Leg; b?: Leg; detail: string }> {
    let legs: { key: string; owner: string }[] = [];
    await waitFor(async () => {
      const found = await st.redis.keys(st.keys.global.bridgedLeg('*'));
      legs = await Promise.all(found.map(async (k) => ({ key: k.slice(st.keys.global.bridgedLeg('').length), owner: ((await st.redis.get(k)) ?? '').split(' ')[1] ?? '' })));
      return legs.length === 2;
    }, 10_000, what);
    const records = await st.redis.keys(st.keys.tenant.callRecord(TENANT, '*'));
    const aCallId = (records[0] ?? '').slice(st.keys.tenant.callRecord(TENANT, '').length).split(';')[0] as string;
    const leg = (l: { key: string; owner: string } | undefined): Leg | undefined =>
      l && { ids: l.key.split(';') as [string, string, string], worker: workerOf(l.owner) };
    const a = leg(legs.find((l) => l.key.startsWith(`${aCallId};`)));
    const b = leg(legs.find((l) => !l.key.startsWith(`${aCallId};`)));
    return { ...(a ? { a } : {}), ...(b ? { b } : {}), detail: JSON.stringify({ legs, records }) };
  }
  const cdrsOf = async (dialled: string): Promise<Cdr[]> => (await readCdrs(st)).filter((c) => c.calleeDialled === dialled);

  beforeAll(async () => {
    redisServer = await startRedis();
    st = await relStack(redisServer.url, { KUMO_SIP_DRAIN_HANDOFF: 'true', KUMO_SIP_DRAIN_GRACE_MS: '20000', KUMO_LOG_LEVEL: process.env.WORKERS_LOG_LEVEL ?? 'warn' });
    location = new LocationStore(st.redis, st.keys);
    const repo = new ProvisioningRepo(st.redis, st.keys);
    for (const u of [users.b, users.c, users.d]) {
      const v = validateExtension({ number: u.user, password: u.password });
      if (!v.ok) throw new Error(JSON.stringify(v.problems));
      await repo.createExtension(TENANT, v.value, SYSTEM_ACTOR);
    }
    const g = validatePickupGroup({ id: 'desk', name: 'Desk', members: ['2001', '2002', '2003'] });
    if (!g.ok) throw new Error(JSON.stringify(g.problems));
    await repo.createPickupGroup(TENANT, g.value, SYSTEM_ACTOR);
    engine = new KumoProc('engine', st.env);
    engine.start();
    workers.push({ proc: undefined as unknown as KumoProc, ops: st.ops.sip }, { proc: undefined as unknown as KumoProc, ops: `127.0.0.1:${await freePort()}` });
    startWorker(0);
    startWorker(1);
    await waitFor(async () => (await ready(st.ops.engine)) && (await ready(workers[0]?.ops ?? '')) && (await ready(workers[1]?.ops ?? '')), 60_000, 'engine and two workers ready');
  }, 90_000);
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.proc.kill('SIGKILL')));
    await engine?.kill('SIGKILL');
    await st?.redis.quit().catch(() => undefined);
    await redisServer?.stop();
    if (!process.env.WORKERS_KEEP) rmSync(dir, { recursive: true, force: true });
  });

  it('*8 on one worker picks up a call ringing on the other; the picker’s BYE reaches the caller', async () => {
    const rings = await phone('2002', ringsUntilPickedUp);
    const original = call('2002', dial(users.a, 'wait-bye'));
    const owner = await ringingOwner('2002').catch(async (err: unknown) => {
      const r = await Promise.race([original.done, sleep(500).then(() => undefined)]);
      throw new Error(`${String(err)}\n${r ? explain(r) : 'sipp still running'}`);
    });
    expect(owner).toBeGreaterThanOrEqual(0);
    await nextCallOnOtherThan(owner, invites);
    const picker = call('*8', dial(users.c, 'bye', { holdMs: 1500 }));
    // Both workers carry the call: the owner its caller, the other the picker.
    await succeedsOnBothWorkers(picker);
    const o = await original.done;
    expect(o.ok, explain(o)).toBe(true);
    expect((await rings.done).ok).toBe(true);
    await waitFor(async () => (await cdrsOf('2002')).length === 1 && (await cdrsOf('*8')).length === 1, 10_000, 'both CDRs');
    expect((await cdrsOf('2002'))[0]).toMatchObject({ disposition: 'answered', calleeExtension: '2003', hangupBy: 'callee' });
    expect((await cdrsOf('*8'))[0]).toMatchObject({ disposition: 'answered', callerExtension: '2003', hangupBy: 'caller' });
    await location.unregister(TENANT, '2002');
  }, 60_000);

  it('**<ext> directed pickup across workers: the caller’s hold (re-INVITE) and BYE reach the picker', async () => {
    const rings = await phone('2002', ringsUntilPickedUp);
    const original = call('2002', dial(users.a, 'hold', { holdMs: 1500 }));
    const owner = await ringingOwner('2002');
    await nextCallOnOtherThan(owner, invites);
    const picker = call('**2002', dial(users.d, 'joined'));
    await succeedsOnBothWorkers(picker);
    const o = await original.done;
    expect(o.ok, `${explain(o)}\n${logs()}`).toBe(true);
    expect((await rings.done).ok).toBe(true);
    await waitFor(async () => (await cdrsOf('2002')).length === 2, 10_000, 'the CDR');
    expect((await cdrsOf('2002'))[1]).toMatchObject({ disposition: 'answered', calleeExtension: '2004', hangupBy: 'caller' });
    await location.unregister(TENANT, '2002');
  }, 60_000);

  it('INVITE with Replaces on one worker takes the place of a leg the other worker holds', async () => {
    const callee = await phone('2002', answers);
    const original = call('2002', dial(users.a, 'joined'));
    // The call's bridged legs in the Redis index: the B leg (Kumo ↔ 2002) is the one that is not the A leg's Call-ID.
    const legs = await bridgedLegs('the bridged legs indexed');
    expect(legs.b, legs.detail).toBeDefined();
    const { ids: [callId, localTag, remoteTag], worker: owner } = legs.b as Leg;
    expect(owner).toBeGreaterThanOrEqual(0);
    await nextCallOnOtherThan(owner, invites);
    const replacing = call('2002', dial(users.d, 'bye', { holdMs: 1200, headers: [`Replaces: ${callId};to-tag=${localTag};from-tag=${remoteTag}`] }));
    await succeedsOnBothWorkers(replacing);
    const o = await original.done;
    expect(o.ok, explain(o)).toBe(true);
    const c = await callee.done;
    expect(c.ok, explain(c)).toBe(true);
    await waitFor(async () => (await cdrsOf('2002')).filter((x) => x.callerExtension === '2004').length === 1, 10_000, 'the joined call’s CDR');
    expect((await cdrsOf('2002')).find((x) => x.callerExtension === '2004')).toMatchObject({ disposition: 'answered', hangupBy: 'caller' });
    await location.unregister(TENANT, '2002');
  }, 60_000);

  it('attended transfer across workers: REFER with Replaces in a call on one worker joins a call the other holds', async () => {
    // Call 2 first (the transferor 2002 consults 2004), so its dialog ids can go into call 1's REFER.
    const target = await phone('2004', answersThenJoined);
    const consult = call('2004', dial(users.b, 'wait-bye'));
    const legs = await bridgedLegs('the consultation call bridged');
    expect(legs.a, legs.detail).toBeDefined();
    // As the transferor's phone knows its dialog: Call-ID, Kumo's tag (to-tag), its own (from-tag).
    const { ids: [callId, kumoTag, phoneTag], worker: owner } = legs.a as Leg;
    expect(owner).toBeGreaterThanOrEqual(0);
    const xfer = await phone('2002', uasTransferor({ target: '2004', domain: DOMAIN, user: '2002', replaces: `${callId};to-tag=${kumoTag};from-tag=${phoneTag}` }));
    await nextCallOnOtherThan(owner, invites);
    // The transferee is told who it now talks to (the target, known from the other worker's index entry).
    const first = call('2002', dial(users.a, 'transferred', { holdMs: 1500, transferredPai: 'sip:2004@' }));
    await succeedsOnBothWorkers(first);
    for (const [name, h] of [['transferor (call 1)', xfer], ['transferor (call 2)', consult], ['target', target]] as const) {
      const r = await h.done;
      expect(r.ok, `${name}: ${explain(r)}`).toBe(true);
    }
    // The joined call has its own CDR: caller the transferor's extension, callee the Refer-To user.
    // (and call 2 its own: two answered CDRs from 2002 to 2004).
    const joined = async () => (await readCdrs(st)).filter((c) => c.callerExtension === '2002' && c.calleeDialled === '2004' && c.disposition === 'answered');
    await waitFor(async () => (await joined()).length === 2, 10_000, 'the joined call’s CDR');
    await location.unregister(TENANT, '2002');
    await location.unregister(TENANT, '2004');
  }, 60_000);

  /** Every call the carrier answered was hung up there and has exactly one CDR; returns those CDRs. */
  async function carrierCallsSettled(log: string): Promise<Cdr[]> {
    await waitFor(() => {
      const l = carrierLog(log);
      return [...l.answered.keys()].every((id) => l.ended.has(id));
    }, 20_000, 'every answered carrier leg hung up');
    const l = carrierLog(log);
    let mine: Cdr[] = [];
    await waitFor(async () => {
      const cdrs = await readCdrs(st);
      mine = cdrs.filter((c) => c.callIdB !== null && l.answered.has(c.callIdB));
      return new Set(mine.map((c) => c.callIdB)).size === l.answered.size;
    }, 15_000, 'a CDR for every answered call');
    expect(new Set(mine.map((c) => c.cdrId)).size).toBe(l.answered.size);
    return mine;
  }

  it('rolling restart under steady load: each worker drains (its routes handed to the other) and restarts; no call fails or drops', async () => {
    const carrierPort = st.carrierPort;
    const carrier = startCarrier(dir, carrierPort, 100_000, 120);
    const before = new Set((await readCdrs(st)).map((c) => c.cdrId));
    const traffic = phoneCalls(dir, { ...PHONE, target: st.sipTarget, service: '00312345678', calls: 48, rate: 4, holdMs: 1000, timeoutS: 90, name: 'rolling' });
    await sleep(2000);
    for (const i of [0, 1]) {
      const w = workers[i] as { proc: KumoProc; ops: string };
      const t0 = Date.now();
      await w.proc.kill('SIGTERM', 30_000);
      const drained = Date.now() - t0;
      startWorker(i);
      await waitFor(() => ready(w.ops), 30_000, `worker ${i} ready again`);
      process.stdout.write(`rolling restart: worker ${i} drained in ${drained} ms, back after ${Date.now() - t0} ms\n`);
      await sleep(1500);
    }
    const t = await traffic.done;
    process.stdout.write(`rolling restart: ${t.successful} calls completed, ${t.failed} failed\n`);
    expect(t.failed, `${explain(t)}\n${logs()}`).toBe(0);
    expect(t.successful).toBe(48);
    const cdrs = (await carrierCallsSettled(carrier.log)).filter((c) => !before.has(c.cdrId));
    await carrier.sipp.stop();
    expect(cdrs.length).toBe(48);
    // Nobody's call was cut: every one ended by its own BYE.
    expect(cdrs.filter((c) => c.endCause !== undefined && c.endCause !== null).map((c) => c.endCause)).toEqual([]);
  }, 120_000);

  it('SIGKILL of a worker under load: the survivor takes new calls at once, the dead worker’s calls end with CDRs', async () => {
    const carrier = startCarrier(dir, st.carrierPort, 100_000, 120);
    const traffic = phoneCalls(dir, { ...PHONE, target: st.sipTarget, service: '00312345678', calls: 24, rate: 4, holdMs: 3000, timeoutS: 60, name: 'kill' });
    // Kill a worker while it holds calls (a fixed delay was not enough on a starved machine: sometimes none had connected
    // yet); half a second more, and the carrier has answered them (it answers at once). Either worker: the engine
    // hands out new INVITEs round-robin, as drachtio-server does, so with phones calling one after another the
    // challenged INVITE and its authenticated retry alternate between the two workers, and which of them gets the
    // calls depends on the phase (docs/scaling.md).
    let victimIndex = -1;
    await waitFor(
      async () => {
        for (const i of [0, 1]) if ((await inProgress((workers[i] as { ops: string }).ops)) >= 2) victimIndex = i;
        return victimIndex >= 0;
      },
      20_000,
      'a worker holds calls',
    );
    const victim = workers[victimIndex] as { proc: KumoProc; ops: string };
    await sleep(500);
    const killedAt = Date.now();
    await victim.proc.kill('SIGKILL');
    // A call placed after the kill (from its first INVITE) is taken by the survivor: measured from the kill to the start
    // of the first call that connects (its own setup time, a sipp start and a digest round, is not the outage).
    let takenAfter = -1;
    let connectedAfter = -1;
    for (let k = 0; takenAfter < 0; k++) {
      const startedAt = Date.now();
      const r = await oneCall(dir, { ...PHONE, target: st.sipTarget, service: '00312345679', name: `after-kill-${k}` });
      if (r.ok) {
        takenAfter = startedAt - killedAt;
        connectedAfter = Date.now() - killedAt;
      } else if (Date.now() - killedAt > 10_000) throw new Error(`no call connects after the kill: ${explain(r)}\n${logs()}`);
    }
    process.stdout.write(`worker SIGKILL: the first call started ${takenAfter} ms after the kill connected (done ${connectedAfter} ms after it)\n`);
    const t = await traffic.done;
    process.stdout.write(`worker SIGKILL: ${t.successful} calls completed, ${t.failed} failed (calls of the dead worker)\n`);
    const cdrs = await carrierCallsSettled(carrier.log);
    await carrier.sipp.stop();
    // The dead worker's answered calls were ended by the survivor (BYE to both legs) and billed to its last heartbeat.
    expect(cdrs.filter((c) => c.endCause === 'system-failure').length).toBeGreaterThan(0);
    // The bound of the issue (a call through a sipp phone, started after the kill, answered): 2 s.
    expect(takenAfter).toBeLessThan(2000);
    startWorker(victimIndex);
    await waitFor(() => ready(victim.ops), 30_000, `worker ${victimIndex} ready again`);
  }, 120_000);
});
