/**
 * Real softphones losing and winning ring races (issue 12, "ring group and two devices on one
 * extension (the loser sees no missed call); pickup"): Debian's baresip 1.0 and linphonec 5.1,
 * headless, default account settings, against the real engine, sip app and Redis. One set of
 * processes serves every case (cheap on CI):
 *
 * - baresip A: extensions 1001 and 1002 (two lines), answers by hand, prints its SIP trace (`-s`);
 * - baresip B: extension 1003, answers by hand, prints its SIP trace;
 * - linphonec: extension 1002 (with A's second line: two devices on one extension), auto answer off.
 *
 * Last, linphone transfers attended (`transfer 1 --to-call 2`: REFER with Replaces): the two
 * baresips it called are joined and each is told who it now talks to (P-Asserted-Identity on the
 * re-INVITE that connects it, read from its own SIP trace).
 *
 * The phone that loses must see no missed call: linphonec's own call history says `answered
 * elsewhere`, not `missed`; baresip 1.0 keeps no call history, so its SIP trace must show the CANCEL
 * it received carrying `Reason: SIP;cause=200;text="Call completed elsewhere"` (RFC 3326), which is
 * what phones that keep one read.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { validateExtension, validatePickupGroup, validateRingGroup, validateTenantCreate } from '@kumo/domain';
import { ProvisioningRepo, SYSTEM_ACTOR } from '@kumo/store';
import { reservePorts } from '@kumo/testkit';
import { Baresip, Linphone, until, type PhoneAccount } from '../helpers/softphones.js';
import { startStack, type Stack } from '../helpers/stack.js';

const DOMAIN = 'forks-phones.kumo.test';
const TENANT = 'forks-phones';
const ELSEWHERE = /Reason: SIP;cause=200;text="Call completed elsewhere"/;

function phonePorts(): { sip: number; ctrl: number; rtp: [number, number] } {
  const base = reservePorts(16);
  const rtp = base + 4 + (base % 2);
  return { sip: base, ctrl: base + 2, rtp: [rtp, rtp + 9] };
}

/** The requests of `method` in a baresip SIP trace (`-s`) since `from`: each from its request line to its Content-Length. */
function requests(method: string, trace: string, from: number): string[] {
  return [...trace.slice(from).matchAll(new RegExp(`^${method} sip:[\\s\\S]*?^Content-Length:.*$`, 'gm'))].map((m) => m[0]);
}
const cancels = (trace: string, from: number): string[] => requests('CANCEL', trace, from);

describe('softphones in ring races: ring group, two devices on one extension, pickup', () => {
  let s: Stack;
  let a: Baresip;
  let b: Baresip;
  let lin: Linphone;
  const dir = mkdtempSync(join(tmpdir(), 'kumo-softforks-'));
  const account = (user: string): PhoneAccount => ({ user, domain: DOMAIN, password: `pass${user}x`, proxy: { host: '127.0.0.1', port: s.sipPort }, transport: 'udp' });
  const bound = async (ext: string, n = 1): Promise<boolean> => (await s.app.location.contactsFor(TENANT, ext)).length >= n;
  const registered = async (ext: string, n: number, who: () => string): Promise<void> => {
    const end = Date.now() + 20_000;
    while (!(await bound(ext, n))) {
      if (Date.now() > end) throw new Error(`${ext}: ${n} device(s) did not register\n${who().slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  /** Events of a baresip since `from`, of `type`. */
  const eventsOf = (p: Baresip, type: string, from: number) => p.events.slice(from).filter((e) => e.type === type);
  const waitEventFrom = (p: Baresip, type: string, from: number, ms = 15_000) =>
    until(() => eventsOf(p, type, from).length > 0, ms, `baresip ${type} (events: ${p.events.slice(from).map((e) => e.type).join(',')})\n${p.output.slice(-1500)}`);

  beforeAll(async () => {
    s = await startStack({ redisUrl: inject('redisUrl'), settings: { md5FirstUserAgents: undefined }, calls: { cdrShards: 1, trunkSetupTimeoutSec: 2, trunkRingCapSec: 30 } });
    const repo = new ProvisioningRepo(s.redis, s.keys);
    const t = validateTenantCreate({ id: TENANT, name: 'Forks', sipDomain: DOMAIN, ports: 100, trunkChannels: 1, callsPerSecond: 50 });
    if (!t.ok) throw new Error(JSON.stringify(t.problems));
    await repo.createTenant(t.value, SYSTEM_ACTOR);
    for (const [number, displayName] of [['1001', 'Anna Baresip'], ['1002', 'Shared Line'], ['1003', 'Ben Baresip']] as const) {
      const e = validateExtension({ number, displayName, password: `pass${number}x` });
      if (!e.ok) throw new Error(JSON.stringify(e.problems));
      await repo.createExtension(TENANT, e.value, SYSTEM_ACTOR);
    }
    const g = validateRingGroup({ number: '700', name: 'Desk', strategy: 'ring-all', members: [{ extension: '1001' }, { extension: '1003' }], totalTimeoutSec: 30 });
    if (!g.ok) throw new Error(JSON.stringify(g.problems));
    await repo.createRingGroup(TENANT, g.value, SYSTEM_ACTOR);
    const p = validatePickupGroup({ id: 'desk', name: 'Desk', members: ['1001', '1003'] });
    if (!p.ok) throw new Error(JSON.stringify(p.problems));
    await repo.createPickupGroup(TENANT, p.value, SYSTEM_ACTOR);

    const tone = join(dir, 'tone.wav');
    // Longer than any case: baresip hangs up a call when its audio file ends ("audio error (0,end of file)").
    execFileSync('sox', ['-n', '-r', '8000', '-c', '1', '-b', '16', tone, 'synth', '60', 'sine', '1000', 'vol', '0.5']);
    const ap = phonePorts();
    const bp = phonePorts();
    const lp = phonePorts();
    [a, b] = await Promise.all([
      Baresip.start({ account: account('1001'), more: [account('1002')], answer: 'manual', trace: true, sipPort: ap.sip, ctrlPort: ap.ctrl, rtpPorts: ap.rtp, tone }),
      Baresip.start({ account: account('1003'), answer: 'manual', trace: true, sipPort: bp.sip, ctrlPort: bp.ctrl, rtpPorts: bp.rtp, tone }),
    ]);
    lin = Linphone.start({ sipPort: lp.sip, transport: 'udp', rtpPorts: lp.rtp });
    lin.send('autoanswer disable');
    await registered('1001', 1, () => a.output);
    await registered('1003', 1, () => b.output);
    await registered('1002', 1, () => a.output);
    await lin.register(account('1002'), () => bound('1002', 2));
  }, 60_000);
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close(), lin?.close()]);
    await s?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** linphonec calls `user` (Kumo's address as the target: the command-line account has no outbound proxy). */
  const linCall = (user: string): void => lin.send(`call sip:${user}@127.0.0.1:${s.sipPort};transport=udp`);

  /** Hangs up from baresip `p` and waits until linphone too has no call left (the next case starts clean). */
  const hangup = async (p: Baresip, from: number): Promise<void> => {
    await p.command('hangup');
    await waitEventFrom(p, 'CALL_CLOSED', from, 10_000);
    await lin.idle();
  };

  it('two devices on one extension (baresip and linphone as 1002): both ring, baresip answers, linphone logs "answered elsewhere", not a missed call', async () => {
    const ea = a.events.length;
    const eb = b.events.length;
    const linMark = lin.output.length;
    expect((await b.command('dial', `sip:1002@${DOMAIN}`)).ok).toBe(true);
    await waitEventFrom(a, 'CALL_INCOMING', ea);
    await lin.waitOutput(/is calling you|Receiving new incoming call/i, 15_000, linMark);
    expect((await a.command('accept')).ok).toBe(true);
    await waitEventFrom(b, 'CALL_ESTABLISHED', eb);
    await lin.waitOutput(/Call \d+ with .* (ended|error)|ended/, 10_000, linMark);
    const logs = await lin.callLogs();
    expect(logs).toMatch(/Status: answered elsewhere/);
    expect(logs).not.toMatch(/Status: missed/);
    await hangup(b, eb);
    await waitEventFrom(a, 'CALL_CLOSED', ea);
  });

  it('ring group (ring-all 1001 + 1003), called from linphone: baresip B answers; baresip A gets CANCEL "Call completed elsewhere"', async () => {
    const ea = a.events.length;
    const eb = b.events.length;
    const trace = a.output.length;
    const linMark = lin.output.length;
    linCall('700');
    await Promise.all([waitEventFrom(a, 'CALL_INCOMING', ea), waitEventFrom(b, 'CALL_INCOMING', eb)]);
    expect((await b.command('accept')).ok).toBe(true);
    await waitEventFrom(b, 'CALL_ESTABLISHED', eb);
    await lin.waitOutput(/Call \d+ with .* connected/, 10_000, linMark);
    await waitEventFrom(a, 'CALL_CLOSED', ea);
    const got = cancels(a.output, trace);
    expect(got.length, a.output.slice(trace).slice(-3000)).toBeGreaterThan(0);
    expect(got.every((c) => ELSEWHERE.test(c))).toBe(true);
    expect(eventsOf(a, 'CALL_ESTABLISHED', ea)).toHaveLength(0);
    await hangup(b, eb);
  });

  /**
   * linphone calls `ringing`'s extension; `picker` dials `code` and is connected to linphone; the
   * phone that rang gets CANCEL "Call completed elsewhere" and never answered.
   */
  const pickupCase = async (o: { ringing: Baresip; ext: string; picker: Baresip; pickerLine?: string; code: string }): Promise<void> => {
    const er = o.ringing.events.length;
    const ep = o.picker.events.length;
    const trace = o.ringing.output.length;
    const linMark = lin.output.length;
    linCall(o.ext);
    await waitEventFrom(o.ringing, 'CALL_INCOMING', er);
    // A phone with two lines: pick the one that dials.
    if (o.pickerLine !== undefined) expect((await o.picker.command('uafind', `sip:${o.pickerLine}@${DOMAIN}`)).ok).toBe(true);
    expect((await o.picker.command('dial', `sip:${o.code}@${DOMAIN}`)).ok).toBe(true);
    await waitEventFrom(o.picker, 'CALL_ESTABLISHED', ep);
    await lin.waitOutput(/Call \d+ with .* connected/, 10_000, linMark);
    await waitEventFrom(o.ringing, 'CALL_CLOSED', er);
    const got = cancels(o.ringing.output, trace);
    expect(got.length, o.ringing.output.slice(trace).slice(-3000)).toBeGreaterThan(0);
    expect(got.every((c) => ELSEWHERE.test(c))).toBe(true);
    expect(eventsOf(o.ringing, 'CALL_ESTABLISHED', er)).toHaveLength(0);
    await hangup(o.picker, ep);
  };

  it('*8 dialled from baresip A picks up linphone\'s call ringing baresip B (same pickup group); B gets "Call completed elsewhere"', () =>
    pickupCase({ ringing: b, ext: '1003', picker: a, pickerLine: '1001', code: '*8' }));

  it('**1001 dialled from baresip B picks up linphone\'s call ringing baresip A; A gets "Call completed elsewhere"', () =>
    pickupCase({ ringing: a, ext: '1001', picker: b, code: '**1001' }));

  it('attended transfer from linphone (REFER with Replaces): baresip A and B are joined, each told who it now talks to', async () => {
    const ea = a.events.length;
    const eb = b.events.length;
    const linMark = lin.output.length;
    linCall('1001');
    await waitEventFrom(a, 'CALL_INCOMING', ea);
    expect((await a.command('accept')).ok).toBe(true);
    await lin.waitOutput(/Call (\d+) with .* connected/, 10_000, linMark);
    const first = /Call (\d+) with .* connected/.exec(lin.output.slice(linMark))?.[1] as string;
    // Hold the first call (linphonec places no second call otherwise), then call B.
    const held = lin.output.length;
    lin.send(`pause ${first}`);
    await lin.waitOutput(/paused/i, 10_000, held);
    const second0 = lin.output.length;
    linCall('1003');
    await waitEventFrom(b, 'CALL_INCOMING', eb);
    expect((await b.command('accept')).ok).toBe(true);
    await lin.waitOutput(/Call (\d+) with .* connected/, 10_000, second0);
    const second = /Call (\d+) with .* connected/.exec(lin.output.slice(second0))?.[1] as string;
    const [traceA, traceB] = [a.output.length, b.output.length];
    lin.send(`transfer ${first} --to-call ${second}`);
    // Joined: each baresip gets a re-INVITE with the other's identity; linphone's calls end.
    const identityIn = (p: Baresip, from: number, re: RegExp): boolean => requests('INVITE', p.output, from).some((m) => re.test(m));
    await until(() => identityIn(a, traceA, /^P-Asserted-Identity: "Ben Baresip" <sip:1003@/m), 15_000, `A told it talks to B\n${a.output.slice(traceA).slice(-3000)}`);
    await until(() => identityIn(b, traceB, /^P-Asserted-Identity: "Anna Baresip" <sip:1001@/m), 15_000, `B told it talks to A\n${b.output.slice(traceB).slice(-3000)}`);
    await lin.waitOutput(new RegExp(`Call ${second} with .* ended`), 10_000, second0);
    expect(eventsOf(a, 'CALL_CLOSED', ea)).toHaveLength(0);
    expect(eventsOf(b, 'CALL_CLOSED', eb)).toHaveLength(0);
    await hangup(a, ea);
    await waitEventFrom(b, 'CALL_CLOSED', eb);
  });
});
