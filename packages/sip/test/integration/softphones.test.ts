/**
 * Real softphones against Kumo (issue 12, "Real softphones in CI"): Debian's baresip 1.0 and
 * linphonec 5.1 run headless with default account settings against the real engine, sip app and
 * Redis. Both register (baresip 1.0 gives up on SHA-256 challenges: the digest policy must let it
 * in at once), and calls between them carry audio both ways: a sox tone played in at one end,
 * recorded at the other, dominant frequency within 1 % and duration within 10 %.
 *
 * Debian packages: baresip-core, linphone-cli, sox (installed by `npm test`, ensure-deps.sh).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { validateExtension, validateTenantCreate } from '@kumo/domain';
import { ProvisioningRepo, SYSTEM_ACTOR } from '@kumo/store';
import { externalDrachtio, reservePorts } from '@kumo/testkit';
import { Baresip, Linphone, analyseTone, until, type PhoneAccount, type Transport } from '../helpers/softphones.js';
import { startStack, type Stack } from '../helpers/stack.js';

const DOMAIN = 'phones.kumo.test';
const TENANT = 'softphones';
const TONE_SECONDS = 2;

/** Ports for one phone, reserved as a block: SIP, control, and an even-based RTP range. */
function phonePorts(): { sip: number; ctrl: number; rtp: [number, number] } {
  const base = reservePorts(16);
  const rtp = base + 4 + (base % 2);
  // baresip binds SIP over UDP and TCP on sip, and TLS on sip + 1.
  return { sip: base, ctrl: base + 2, rtp: [rtp, rtp + 9] };
}

describe('softphones: Debian baresip and linphone against Kumo', () => {
  let s: Stack;
  const stackOptions = (o: { keys?: Stack['keys']; sipPort?: number } = {}): Parameters<typeof startStack>[0] => ({
    redisUrl: inject('redisUrl'),
    // The server defaults: SHA-256 then MD5, no User-Agent settings (the policy's built-in patterns apply).
    settings: { md5FirstUserAgents: undefined },
    calls: { cdrShards: 1, trunkSetupTimeoutSec: 2, trunkRingCapSec: 30 },
    ...o,
  });
  const bound = async (ext: string): Promise<boolean> => (await s.app.location.contactsFor(TENANT, ext)).length > 0;
  /**
   * Both phones started and registered over `transport`. baresip 1.0 hangs up a call when its audio
   * file ends: cases that do not measure the tone give it one that outlasts them (`longTone`).
   */
  const phones = async (transport: Transport, o: { longTone?: boolean } = {}): Promise<{ bare: Baresip; lin: Linphone }> => {
    // Forget the phones of an earlier case (closed, but their bindings live on).
    await Promise.all(['1001', '1002'].map((e) => s.app.location.unregister(TENANT, e)));
    const bp = phonePorts();
    const lp = phonePorts();
    const bare = await Baresip.start({ account: account('1001', transport), sipPort: bp.sip, ctrlPort: bp.ctrl, rtpPorts: bp.rtp, tone: tone(1000, o.longTone === true ? 60 : TONE_SECONDS) });
    const lin = Linphone.start({ sipPort: lp.sip, transport, rtpPorts: lp.rtp });
    // Registered = Kumo holds the binding (baresip may register before its control socket is connected).
    const end = Date.now() + 15_000;
    while (!(await bound('1001'))) {
      if (Date.now() > end) throw new Error(`baresip did not register\n${bare.output.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    await lin.register(account('1002', transport), () => bound('1002'));
    return { bare, lin };
  };
  const dir = mkdtempSync(join(tmpdir(), 'kumo-softphones-'));
  const tone = (hz: number, seconds = TONE_SECONDS): string => {
    const f = join(dir, `tone-${hz}-${seconds}.wav`);
    // Half a second of silence first: the first RTP packets of a call may be lost while both ends set up.
    execFileSync('sox', ['-n', '-r', '8000', '-c', '1', '-b', '16', f, 'synth', String(seconds), 'sine', String(hz), 'vol', '0.5', 'pad', '0.5', '0']);
    return f;
  };
  const account = (user: string, transport: Transport): PhoneAccount => ({
    user,
    domain: DOMAIN,
    password: `pass${user}x`,
    proxy: { host: '127.0.0.1', port: s.sipPort },
    transport,
  });

  beforeAll(async () => {
    s = await startStack(stackOptions());
    const repo = new ProvisioningRepo(s.redis, s.keys);
    const t = validateTenantCreate({ id: TENANT, name: 'Softphones', sipDomain: DOMAIN, ports: 100, trunkChannels: 1, callsPerSecond: 50 });
    if (!t.ok) throw new Error(JSON.stringify(t.problems));
    await repo.createTenant(t.value, SYSTEM_ACTOR);
    for (const [number, displayName] of [['1001', 'Baresip User'], ['1002', 'Linphone User'], ['1003', 'Second Baresip']] as const) {
      const e = validateExtension({ number, displayName, password: `pass${number}x` });
      if (!e.ok) throw new Error(JSON.stringify(e.problems));
      await repo.createExtension(TENANT, e.value, SYSTEM_ACTOR);
    }
  });
  afterAll(async () => {
    await s?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('udp: hold and resume are relayed end to end; the call goes on', async () => {
    const { bare, lin } = await phones('udp', { longTone: true });
    try {
      expect((await bare.command('dial', `sip:1002@${DOMAIN}`)).ok).toBe(true);
      await bare.waitEvent('CALL_ESTABLISHED', 15_000);
      const mark = lin.output.length;
      expect((await bare.command('hold')).ok).toBe(true);
      await lin.waitOutput(/has been paused by/, 10_000, mark);
      const held = lin.output.length;
      expect((await bare.command('resume')).ok).toBe(true);
      // linphone takes the resuming re-INVITE (Kumo relays it): its media flow again, the call stays up.
      await lin.waitOutput(/Media streams established/, 10_000, held);
      expect(lin.output.slice(mark)).not.toMatch(/Call \d+ with .* (ended|error)/);
      expect(bare.has('CALL_CLOSED')).toBe(false);
      await bare.command('hangup');
      await bare.waitEvent('CALL_CLOSED', 10_000);
      await lin.waitOutput(/ended/, 10_000, held);
    } finally {
      await Promise.all([bare.close(), lin.close()]);
    }
  });

  it('udp: linphone blind-transfers baresip\'s call to another baresip, which sees the original caller', async () => {
    const { bare, lin } = await phones('udp', { longTone: true });
    await s.app.location.unregister(TENANT, '1003');
    const cp = phonePorts();
    const carol = await Baresip.start({ account: account('1003', 'udp'), sipPort: cp.sip, ctrlPort: cp.ctrl, rtpPorts: cp.rtp, tone: tone(1000, 60) });
    try {
      const end = Date.now() + 15_000;
      while (!(await bound('1003'))) {
        if (Date.now() > end) throw new Error(`second baresip did not register\n${carol.output.slice(-2000)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      expect((await bare.command('dial', `sip:1002@${DOMAIN}`)).ok).toBe(true);
      await bare.waitEvent('CALL_ESTABLISHED', 15_000);
      await lin.waitOutput(/Call \d+ with .* connected/, 10_000);
      const callNo = /Call (\d+) with .* connected/.exec(lin.output)?.[1] ?? '1';
      lin.send(`transfer ${callNo} sip:1003@${DOMAIN}`);
      await carol.waitEvent('CALL_ESTABLISHED', 15_000);
      const incoming = carol.events.find((e) => e.type === 'CALL_INCOMING' || e.type === 'CALL_ESTABLISHED');
      // The new leg shows who stays on the line: baresip 1001, not the transferor 1002.
      expect(typeof incoming?.peeruri === 'string' ? incoming.peeruri : '').toMatch(/sip:1001@/);
      await carol.command('hangup');
      await carol.waitEvent('CALL_CLOSED', 10_000);
    } finally {
      await Promise.all([bare.close(), lin.close(), carol.close()]);
    }
  });

  for (const transport of ['udp', 'tcp'] as const) {
    it(`${transport}: both register with default settings; a call carries audio both ways`, async () => {
      const { bare, lin } = await phones(transport);
      try {
        const [b1] = await s.app.location.contactsFor(TENANT, '1001');
        const [b2] = await s.app.location.contactsFor(TENANT, '1002');
        expect(b1).toMatchObject({ userAgent: expect.stringMatching(/^baresip v1\./), source: { transport } });
        expect(b2).toMatchObject({ userAgent: expect.stringMatching(/Linphone/i), source: { transport } });

        // linphone plays 440 Hz into the call and records what it hears; baresip plays 1 kHz (aufile) and records (sndfile).
        const rec = join(lin.dir, 'heard.wav');
        lin.send(`play ${tone(440)}`);
        lin.send(`record ${rec}`);
        const dialled = await bare.command('dial', `sip:1002@${DOMAIN}`);
        expect(dialled.ok, dialled.data).toBe(true);
        await bare.waitEvent('CALL_ESTABLISHED', 15_000);
        await new Promise((r) => setTimeout(r, (TONE_SECONDS + 1.5) * 1000));
        await bare.command('hangup');
        await bare.waitEvent('CALL_CLOSED', 10_000);
        await until(() => bare.received().length > 0, 5000, 'baresip recording');

        const atLinphone = analyseTone(rec);
        expect(Math.abs(atLinphone.frequency - 1000)).toBeLessThanOrEqual(10);
        expect(Math.abs(atLinphone.seconds - TONE_SECONDS)).toBeLessThanOrEqual(TONE_SECONDS * 0.1);
        const atBaresip = analyseTone(bare.received()[0] as string);
        if (process.env.KUMO_SOFTPHONES_VERBOSE) console.log(transport, { atLinphone, atBaresip });
        expect(Math.abs(atBaresip.frequency - 440)).toBeLessThanOrEqual(4.4);
        expect(Math.abs(atBaresip.seconds - TONE_SECONDS)).toBeLessThanOrEqual(TONE_SECONDS * 0.1);
      } finally {
        await Promise.all([bare.close(), lin.close()]);
      }
    });

    it(`${transport}: after a restart of Kumo (engine and sip app) the registered phones are still reached`, async () => {
      const { bare, lin } = await phones(transport, { longTone: true });
      try {
        const flowOf1002 = (await s.app.location.contactsFor(TENANT, '1002'))[0]?.source.port;
        const [flow] = await s.app.location.contactsFor(TENANT, '1001');
        // Over TCP baresip's REGISTER came from an ephemeral port; its Contact names the port it listens on.
        if (transport === 'tcp') expect(flow?.contact).not.toContain(`:${flow?.source.port}`);
        await s.close();
        s = await startStack(stackOptions({ keys: s.keys, sipPort: s.sipPort }));
        expect(await bound('1001')).toBe(true);
        // linphone calls baresip (Kumo's address as the target: the command-line account has no outbound
        // proxy). Over TCP baresip's registration connection died with the engine: Kumo reaches it at the
        // Contact it registered (baresip does not re-register when the connection drops).
        if (transport === 'tcp') {
          // linphone notices its connection closed and re-registers on a new one: let that settle first.
          const before = flowOf1002;
          const end = Date.now() + 5000;
          while (Date.now() < end) {
            const [now] = await s.app.location.contactsFor(TENANT, '1002');
            if (now && now.source.port !== before) break;
            await new Promise((r) => setTimeout(r, 50));
          }
        }
        const mark = lin.output.length;
        lin.send(`call sip:1001@127.0.0.1:${s.sipPort};transport=${transport}`);
        if (transport === 'tcp' && externalDrachtio()) {
          // On the C++ drachtio-server an INVITE for a Contact whose registration connection died is forced
          // onto that connection and refused by the server itself (410) until the phone registers again
          // (docs/deploy-drachtio.md, "A TCP phone whose registration connection closed"): the caller must
          // hear the failure at once, not after a 30 s ring timeout.
          const started = Date.now();
          await until(() => /Call 1 with .* error/.test(lin.output.slice(mark)), 10_000, 'linphone sees the call fail');
          expect(Date.now() - started).toBeLessThan(5000);
          return;
        }
        await bare.waitEvent('CALL_ESTABLISHED', 10_000).catch((err: unknown) => {
          throw new Error(`${String(err)}\nlinphonec:\n${lin.output.slice(mark).slice(-3000)}`);
        });
        await bare.command('hangup');
        await bare.waitEvent('CALL_CLOSED', 10_000);
      } finally {
        await Promise.all([bare.close(), lin.close()]);
      }
    });
  }
});
