/**
 * One authentication step, one brute-force guard (issue 16 item 1): svcrack-style password
 * guessing over INVITE and over REGISTER, from one source and from several, against the real
 * engine + sip app + Redis. The extension is locked within 10 wrong answers, the right password
 * is never confirmed to the guesser, and the extension's own phone keeps registering and calling.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { validateExtension, validateTenantCreate } from '@kumo/domain';
import { ProvisioningRepo, SYSTEM_ACTOR } from '@kumo/store';
import { startStack, type Stack } from '../helpers/stack.js';
import { RawPhone } from '../helpers/raw-phone.js';

const DOMAIN = 'guard.kumo.test';
const PASSWORD: Record<string, string> = { '1001': 'Kx7-1001-secret', '1002': 'Kx7-1002-secret', '1003': 'Kx7-1003-secret' };
/** A guesser's list with the right password well inside it. */
const guesses = (ext: string): string[] => [...Array.from({ length: 24 }, (_, i) => `guess${i}`), PASSWORD[ext] as string, 'guess-last'];

describe('brute-force guard over every method', () => {
  let s: Stack;
  const phones: RawPhone[] = [];
  const open = async (addr: string): Promise<RawPhone> => {
    const p = await RawPhone.open(addr, { host: '127.0.0.1', port: s.sipPort });
    phones.push(p);
    return p;
  };

  beforeAll(async () => {
    s = await startStack({
      redisUrl: inject('redisUrl'),
      settings: { bruteForce: { windowMs: 300_000, ipThreshold: 20, aorThreshold: 10, blockMs: 300_000, action: 'drop' } },
      calls: { cdrShards: 1, trunkSetupTimeoutSec: 2, trunkRingCapSec: 30 },
    });
    const repo = new ProvisioningRepo(s.redis, s.keys);
    const t = validateTenantCreate({ id: 'guard', name: 'Guard', sipDomain: DOMAIN, ports: 100, trunkChannels: 1, callsPerSecond: 50 });
    if (!t.ok) throw new Error(JSON.stringify(t.problems));
    await repo.createTenant(t.value, SYSTEM_ACTOR);
    for (const [number, password] of Object.entries(PASSWORD)) {
      const e = validateExtension({ number, password });
      if (!e.ok) throw new Error(JSON.stringify(e.problems));
      await repo.createExtension('guard', e.value, SYSTEM_ACTOR);
    }
  });
  afterAll(async () => {
    for (const p of phones) p.close();
    await s?.close();
  });

  /** The legitimate phone of `ext` on 127.0.0.1: registers, then places a call (to an unregistered extension: 480 means it got past authentication). */
  const legit = async (ext: string) => {
    const phone = await open('127.0.0.1');
    const reg = await phone.attempt({ method: 'REGISTER', user: ext, domain: DOMAIN, userAgent: 'Desk phone' }, PASSWORD[ext] as string);
    const call = async () => (await phone.attempt({ method: 'INVITE', user: ext, domain: DOMAIN, target: '1002', userAgent: 'Desk phone' }, PASSWORD[ext] as string)).final?.status;
    return { reg: reg.final?.status, call };
  };

  it('INVITE guessing from one source: locked after 10 wrong answers, the password is never confirmed, the phone keeps calling', async () => {
    const me = await legit('1001');
    expect(me.reg).toBe(200);
    const attacker = await open('127.0.0.2');
    const results: (number | undefined)[] = [];
    const challenged: boolean[] = [];
    for (const pw of guesses('1001')) {
      const r = await attacker.attempt({ method: 'INVITE', user: '1001', domain: DOMAIN, target: '1002', userAgent: 'friendly-scanner' }, pw);
      challenged.push(r.challenge !== undefined);
      results.push(r.final?.status);
    }
    // 10 wrong answers were checked; from then on the guesser is refused before any challenge.
    expect(challenged.filter(Boolean)).toHaveLength(10);
    expect(results.every((x) => x === 403)).toBe(true);
    // The right password (attempt 25) got the same 403 as every guess: nothing confirmed.
    expect(results[24]).toBe(403);
    // The phone that registered from its usual address keeps calling.
    expect(await me.call()).toBe(480);
    const text = await s.registry.metrics();
    expect(text).toMatch(/kumo_sip_bruteforce_blocks_total\{scope="aor",proc="sip-test"\} 1/);
  });

  it('REGISTER guessing from several sources: locked within 10, then INVITE guessing is locked too (every method), the phone keeps working', async () => {
    const me = await legit('1003');
    expect(me.reg).toBe(200);
    const sources = await Promise.all(['127.0.0.11', '127.0.0.12', '127.0.0.13', '127.0.0.14', '127.0.0.15'].map(open));
    const guess = async (i: number, pw: string): Promise<string> => {
      const src = sources[i % sources.length] as RawPhone;
      const r = await src.attempt({ method: 'REGISTER', user: '1003', domain: DOMAIN, userAgent: 'friendly-scanner' }, pw);
      return r.challenge === undefined ? (r.final === undefined ? 'dropped' : `refused ${r.final.status}`) : `answered ${r.final?.status ?? 'dropped'}`;
    };
    const list = guesses('1003');
    const outcomes: string[] = [];
    for (let i = 0; i < 10; i++) outcomes.push(await guess(i, list[i] as string));
    // The rest at once (a dropped request costs the guesser a timeout; the test need not wait for each).
    outcomes.push(...(await Promise.all(list.slice(10).map((pw, j) => guess(10 + j, pw)))));
    // Ten answers checked (all wrong), then every request dropped (KUMO_SIP_BF_ACTION=drop), the right password included.
    expect(outcomes.slice(0, 10)).toEqual(Array(10).fill('answered 403'));
    expect(outcomes.slice(10)).toEqual(Array(outcomes.length - 10).fill('dropped'));
    expect(await s.app.location.contactsFor('guard', '1003')).toSatisfy((b: { source: { address: string } }[]) => b.every((x) => x.source.address === '127.0.0.1'));
    // The lock covers INVITE: a new source with the right password is refused, unchallenged.
    const late = await open('127.0.0.16');
    const inv = await late.attempt({ method: 'INVITE', user: '1003', domain: DOMAIN, target: '1002' }, PASSWORD['1003'] as string);
    expect(inv.challenge).toBeUndefined();
    expect(inv.final?.status).toBe(403);
    // The real phone: re-registers and calls.
    const again = await legit('1003');
    expect(again.reg).toBe(200);
    expect(await again.call()).toBe(480);
  });

  it('one rule for nonces: an answer replayed on another method or request is re-challenged', async () => {
    const phone = await open('127.0.0.21');
    const first = await phone.send({ method: 'INVITE', user: '1002', domain: DOMAIN, target: '1999' });
    expect(first.response?.status).toBe(407);
    const { buildDigestAuthorization, parseChallenge } = await import('@kumo/sip');
    const ch = parseChallenge(first.response?.all('proxy-authenticate').find((h) => /MD5/.test(h)) ?? '');
    if (!ch) throw new Error('no MD5 challenge');
    const value = buildDigestAuthorization({ algorithm: 'MD5', username: '1002', password: PASSWORD['1002'] as string, realm: ch.realm, nonce: ch.nonce, method: 'INVITE', uri: `sip:1999@${DOMAIN}`, nc: 1, cnonce: 'c1' });
    const ok = await phone.send({ method: 'INVITE', user: '1002', domain: DOMAIN, target: '1999', callId: first.callId, cseq: 2, authorization: { header: 'Proxy-Authorization', value } });
    expect(ok.response?.status).toBe(404);
    const replay = await phone.send({ method: 'INVITE', user: '1002', domain: DOMAIN, target: '1999', authorization: { header: 'Proxy-Authorization', value } });
    expect(replay.response?.status).toBe(407);
  });
});
