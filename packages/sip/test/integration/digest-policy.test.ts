/**
 * Digest algorithm policy on real Redis (issue 12 item 1): per tenant and extension, User-Agent
 * patterns, and learning per device (a device that gives up on a multi-challenge, or answers SHA-256
 * with an MD5 hash, is challenged with MD5 from then on). The authentication step is driven directly
 * with a clock the test moves; the wire is covered by auth-guard.test.ts and the softphone suite.
 */
import { afterAll, describe, expect, inject, it } from 'vitest';
import { silentLogger } from '@kumo/runtime';
import { AuthGuardStore, createRedis, keySchema } from '@kumo/store';
import { uniquePrefix } from '@kumo/testkit';
import type { DigestPolicy } from '@kumo/domain';
import {
  DEFAULT_MD5_ONLY_UA,
  buildDigestAuthorization,
  computeDigestResponse,
  computeHa1,
  createAuthenticator,
  parseChallenge,
  type AuthVerdict,
  type DigestAlgorithm,
} from '@kumo/sip';

const redis = createRedis(inject('redisUrl'));
afterAll(() => redis.disconnect());

const REALM = 'policy.kumo.test';
const PW = 'pass-1001-x';
const secrets = (policy?: DigestPolicy) => ({
  ha1Md5: computeHa1('MD5', '1001', REALM, PW),
  ha1Sha256: computeHa1('SHA-256', '1001', REALM, PW),
  ...(policy ? { digestAlgorithms: policy } : {}),
});

function setup() {
  let clock = 1_800_000_000_000;
  const guard = new AuthGuardStore(redis, keySchema(uniquePrefix('dp')));
  const auth = createAuthenticator({
    settings: {
      nonceSecret: 'p'.repeat(32),
      nonceLifetimeMs: 600_000,
      algorithms: ['SHA-256', 'MD5'],
      md5OnlyUserAgents: DEFAULT_MD5_ONLY_UA,
      bruteForce: { windowMs: 60_000, ipThreshold: 100, aorThreshold: 100, blockMs: 60_000, action: '403' },
    },
    guard,
    log: silentLogger(),
    now: () => clock,
  });
  const req = (o: { ua?: string; header?: string; tenantPolicy?: DigestPolicy; extPolicy?: DigestPolicy; ip?: string }) =>
    auth.authenticate({
      method: 'REGISTER',
      header: o.header,
      realm: REALM,
      tenant: { id: 'pol', ...(o.tenantPolicy ? { digestAlgorithms: o.tenantPolicy } : {}) },
      extension: '1001',
      source: { address: o.ip ?? '10.0.0.5' },
      userAgent: o.ua,
      lookup: () => Promise.resolve(secrets(o.extPolicy)),
    });
  const algs = (v: AuthVerdict<unknown>): string[] => (v.kind === 'challenge' ? v.challenges.map((c) => parseChallenge(c)?.algorithm ?? '?') : [v.kind]);
  const answer = (v: AuthVerdict<unknown>, alg: DigestAlgorithm, o: { password?: string; md5HashLabelledSha256?: boolean } = {}): string => {
    if (v.kind !== 'challenge') throw new Error(`not a challenge: ${v.kind}`);
    const ch = v.challenges.map(parseChallenge).find((c) => c?.algorithm === alg) ?? parseChallenge(v.challenges[0] as string);
    if (!ch) throw new Error('no challenge');
    const base = { username: '1001', password: o.password ?? PW, realm: REALM, nonce: ch.nonce, method: 'REGISTER', uri: `sip:${REALM}`, nc: 1, cnonce: 'cn' };
    if (o.md5HashLabelledSha256 !== true) return buildDigestAuthorization({ ...base, algorithm: alg });
    // A client bug seen in the field: algorithm=SHA-256 on the wire, an MD5 hash computed.
    const response = computeDigestResponse({ algorithm: 'MD5', ha1: computeHa1('MD5', '1001', REALM, PW), method: 'REGISTER', uri: base.uri, nonce: ch.nonce, qop: 'auth', nc: '00000001', cnonce: 'cn' });
    return `Digest username="1001", realm="${REALM}", nonce="${ch.nonce}", uri="${base.uri}", response="${response}", algorithm=SHA-256, qop=auth, nc=00000001, cnonce="cn"`;
  };
  return { req, algs, answer, tick: (ms: number) => (clock += ms) };
}

describe('digest algorithm policy', () => {
  it('a device that gives up on the multi-challenge is challenged with MD5 next time, and registers', async () => {
    const t = setup();
    const ua = 'Unknown SIP phone 1.0';
    expect(t.algs(await t.req({ ua }))).toEqual(['SHA-256', 'MD5']);
    // A second request at once (two requests in flight) is not a give-up.
    expect(t.algs(await t.req({ ua }))).toEqual(['SHA-256', 'MD5']);
    t.tick(60_000); // Debian 12 baresip retries after 60 s
    const c = await t.req({ ua });
    expect(t.algs(c)).toEqual(['MD5']);
    expect((await t.req({ ua, header: t.answer(c, 'MD5') })).kind).toBe('ok');
    // Remembered: the next REGISTER gets MD5 at once. Another device (other UA) is not affected.
    t.tick(3_600_000);
    expect(t.algs(await t.req({ ua }))).toEqual(['MD5']);
    expect(t.algs(await t.req({ ua: 'Other phone' }))).toEqual(['SHA-256', 'MD5']);
  });

  it('a device that answers the challenge is never narrowed (re-registrations included)', async () => {
    const t = setup();
    const ua = 'Linphone/5.1.65';
    for (let i = 0; i < 3; i++) {
      const c = await t.req({ ua });
      expect(t.algs(c)).toEqual(['SHA-256', 'MD5']);
      expect((await t.req({ ua, header: t.answer(c, 'SHA-256') })).kind).toBe('ok');
      t.tick(600_000);
    }
    // A wrong password is a wrong password, not a broken SHA-256: no narrowing.
    const c = await t.req({ ua });
    expect((await t.req({ ua, header: t.answer(c, 'SHA-256', { password: 'typo-pass' }) })).kind).toBe('failed');
    t.tick(60_000);
    expect(t.algs(await t.req({ ua }))).toEqual(['SHA-256', 'MD5']);
  });

  it('a SHA-256 answer that is an MD5 hash: re-challenged with MD5 (not counted as a guess), then MD5 for good', async () => {
    const t = setup();
    const ua = 'Buggy phone 2.0';
    const c = await t.req({ ua });
    const v = await t.req({ ua, header: t.answer(c, 'SHA-256', { md5HashLabelledSha256: true }) });
    expect(t.algs(v)).toEqual(['MD5']);
    expect((await t.req({ ua, header: t.answer(v, 'MD5') })).kind).toBe('ok');
    expect(t.algs(await t.req({ ua }))).toEqual(['MD5']);
  });

  it('known clients by User-Agent: Debian 12 baresip gets MD5 only, at once', async () => {
    const t = setup();
    const c = await t.req({ ua: 'baresip v1.0.0 (x86_64/linux)' });
    expect(t.algs(c)).toEqual(['MD5']);
    expect((await t.req({ ua: 'baresip v1.0.0 (x86_64/linux)', header: t.answer(c, 'MD5') })).kind).toBe('ok');
  });

  it('tenant and extension settings bound what is offered and accepted', async () => {
    const t = setup();
    const baresip = 'baresip v1.0.0 (x86_64/linux)';
    // Tenant sha-256: never MD5, whatever the client; an MD5 answer is not accepted (challenged again).
    const c = await t.req({ ua: baresip, tenantPolicy: 'sha-256' });
    expect(t.algs(c)).toEqual(['SHA-256']);
    const md5Answer = t.answer({ kind: 'challenge', outcome: 'challenged', challenges: [(c.kind === 'challenge' ? c.challenges[0] : '')!.replace('SHA-256', 'MD5')] }, 'MD5');
    expect((await t.req({ ua: baresip, tenantPolicy: 'sha-256', header: md5Answer })).kind).toBe('challenge');
    expect((await t.req({ ua: baresip, tenantPolicy: 'sha-256', header: t.answer(c, 'SHA-256') })).kind).toBe('ok');
    // The extension's own setting wins over the tenant's.
    expect(t.algs(await t.req({ ua: 'x', tenantPolicy: 'sha-256', extPolicy: 'md5', ip: '10.0.0.6' }))).toEqual(['MD5']);
    expect(t.algs(await t.req({ ua: 'x', tenantPolicy: 'md5', extPolicy: 'sha-256,md5', ip: '10.0.0.7' }))).toEqual(['SHA-256', 'MD5']);
    // A tenant on md5 only.
    expect(t.algs(await t.req({ ua: 'y', tenantPolicy: 'md5', ip: '10.0.0.8' }))).toEqual(['MD5']);
  });
});
