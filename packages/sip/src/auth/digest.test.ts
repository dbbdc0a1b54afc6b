import { describe, expect, it } from 'vitest';
import {
  buildChallenges,
  buildDigestAuthorization,
  checkNonce,
  computeDigestResponse,
  computeHa1,
  createNonce,
  dummyHa1,
  parseChallenge,
  parseDigestCredentials,
  verifyDigest,
} from './digest.js';

describe('digest: RFC 7616 §3.9.1 example vectors', () => {
  const base = {
    method: 'GET',
    uri: '/dir/index.html',
    nonce: '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v',
    qop: 'auth',
    nc: '00000001',
    cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ',
  };
  it.each([
    { algorithm: 'MD5' as const, response: '8ca523f5e9506fed4657c9700eebdbec' },
    { algorithm: 'SHA-256' as const, response: '753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1' },
  ])('$algorithm', ({ algorithm, response }) => {
    const ha1 = computeHa1(algorithm, 'Mufasa', 'http-auth@example.org', 'Circle of Life');
    expect(computeDigestResponse({ ...base, algorithm, ha1 })).toBe(response);
  });
});

describe('digest: nonces', () => {
  const o = { secret: 'x'.repeat(32), realm: 'demo.kumo.test', lifetimeMs: 300_000 };
  it('are valid, then stale, and bound to realm and secret', () => {
    const n = createNonce({ ...o, nowMs: 1_000_000 });
    expect(checkNonce(n, { ...o, nowMs: 1_000_000 })).toBe('valid');
    expect(checkNonce(n, { ...o, nowMs: 1_000_000 + 300_001 })).toBe('stale');
    expect(checkNonce(n, { ...o, realm: 'other.test', nowMs: 1_000_000 })).toBe('invalid');
    expect(checkNonce(n, { ...o, secret: 'y'.repeat(32), nowMs: 1_000_000 })).toBe('invalid');
    expect(checkNonce(n.replace(/^[0-9a-f]/, (c) => (c === 'f' ? 'e' : 'f')), { ...o, nowMs: 1_000_000 })).toBe('invalid');
    expect(checkNonce('garbage', { ...o, nowMs: 1 })).toBe('invalid');
    expect(createNonce({ ...o, nowMs: 1 })).not.toBe(createNonce({ ...o, nowMs: 1 }));
  });
});

describe('digest: nonce randomness', () => {
  it('never repeats across refills of the random pool (2,000 nonces in one millisecond: 4 refills)', () => {
    const o = { secret: 's'.repeat(32), realm: 'acme.test', nowMs: 5 };
    const seen = new Set(Array.from({ length: 2000 }, () => createNonce(o).split('.')[1]));
    expect(seen.size).toBe(2000);
    for (const r of seen) expect(r).toMatch(/^[0-9a-f]{16}$/);
  });
});

describe('digest: challenge and answer round trip', () => {
  const realm = 'demo.kumo.test';
  it('offers SHA-256 first, then MD5, qop=auth, stale when asked', () => {
    const c = buildChallenges({ realm, nonce: 'n1', algorithms: ['SHA-256', 'MD5'], stale: true });
    expect(c).toHaveLength(2);
    expect(c[0]).toBe('Digest realm="demo.kumo.test", nonce="n1", algorithm=SHA-256, qop="auth", stale=true');
    expect(parseChallenge(c[1]!)).toEqual({ realm, nonce: 'n1', algorithm: 'MD5', stale: true });
  });

  it.each(['SHA-256', 'MD5'] as const)('verifies a %s answer and rejects a wrong password', (algorithm) => {
    const auth = buildDigestAuthorization({
      algorithm, username: '1001', password: 'pass1001', realm, nonce: 'abc', method: 'REGISTER', uri: 'sip:demo.kumo.test', nc: 1, cnonce: 'c1',
    });
    const creds = parseDigestCredentials(auth)!;
    expect(creds).toMatchObject({ username: '1001', realm, nonce: 'abc', algorithm, qop: 'auth', nc: '00000001' });
    expect(verifyDigest(creds, computeHa1(algorithm, '1001', realm, 'pass1001'), 'REGISTER')).toBe(true);
    expect(verifyDigest(creds, computeHa1(algorithm, '1001', realm, 'wrong'), 'REGISTER')).toBe(false);
    expect(verifyDigest(creds, computeHa1(algorithm, '1001', realm, 'pass1001'), 'INVITE')).toBe(false);
    expect(verifyDigest(creds, dummyHa1(algorithm, 's'.repeat(16), '1001', realm), 'REGISTER')).toBe(false);
  });

  it('refuses answers without qop (RFC 2069 form) and unknown algorithms', () => {
    const ha1 = computeHa1('MD5', 'u', 'r', 'p');
    const response = computeDigestResponse({ algorithm: 'MD5', ha1, method: 'REGISTER', uri: 'sip:r', nonce: 'n' });
    const c = parseDigestCredentials(`Digest username="u", realm="r", nonce="n", uri="sip:r", response="${response}"`)!;
    expect(c.algorithm).toBe('MD5');
    expect(verifyDigest(c, ha1, 'REGISTER')).toBe(false);
    expect(parseDigestCredentials('Digest username="u", realm="r", nonce="n", uri="sip:r", response="x", algorithm=SHA-512')).toBeNull();
  });

  it.each([
    undefined,
    '',
    'Basic dXNlcjpwYXNz',
    'Digest username="u"',
    'Digest username="u", realm="r", nonce="n", uri="sip:r", response="x", ,,',
    'Digest username="u\\"x", realm="r", nonce="n", uri="sip:r"',
  ])('parses %j as no credentials', (h) => {
    expect(parseDigestCredentials(h)).toBeNull();
  });

  it('handles escaped quotes and spacing', () => {
    const c = parseDigestCredentials('Digest  username = "a\\"b" ,realm="r",nonce="n", uri="sip:r;transport=tcp",response="AB",qop=auth,nc=0000000a,cnonce="x"');
    expect(c).toMatchObject({ username: 'a"b', uri: 'sip:r;transport=tcp', response: 'ab', nc: '0000000a' });
  });
});
