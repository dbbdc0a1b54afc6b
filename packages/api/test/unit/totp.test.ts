import { describe, expect, it } from 'vitest';
import { base32Decode, base32Encode, hotp, totpAt, verifyTotp } from '../../src/console/totp.js';

// RFC 6238 Appendix B (SHA-1 secret "12345678901234567890"): 8-digit values; Kumo uses the last 6 digits.
const SECRET = base32Encode(Buffer.from('12345678901234567890'));

describe('TOTP (RFC 6238)', () => {
  it.each([
    [59, '94287082'],
    [1111111109, '07081804'],
    [1111111111, '14050471'],
    [1234567890, '89005924'],
    [2000000000, '69279037'],
    [20000000000, '65353130'],
  ])('T = %i s → %s (last 6 digits)', (t, code) => {
    expect(totpAt(SECRET, t * 1000)).toBe(code.slice(2));
  });

  it('HOTP matches RFC 4226 Appendix D', () => {
    const key = Buffer.from('12345678901234567890');
    expect([0, 1, 2, 9].map((c) => hotp(key, c))).toEqual(['755224', '287082', '359152', '520489']);
  });

  it('accepts one step of drift either way, no more; returns the matched step', () => {
    const t = 1_700_000_000_000;
    const step = Math.floor(t / 30_000);
    expect(verifyTotp(SECRET, totpAt(SECRET, t), t)).toBe(step);
    expect(verifyTotp(SECRET, totpAt(SECRET, t - 30_000), t)).toBe(step - 1);
    expect(verifyTotp(SECRET, totpAt(SECRET, t + 30_000), t)).toBe(step + 1);
    expect(verifyTotp(SECRET, totpAt(SECRET, t - 60_000), t)).toBeNull();
    expect(verifyTotp(SECRET, '12345', t)).toBeNull();
    expect(verifyTotp(SECRET, 'abcdef', t)).toBeNull();
  });

  it('base32 round-trips', () => {
    const b = Buffer.from([0, 1, 2, 250, 251, 255, 7]);
    expect(base32Decode(base32Encode(b))).toEqual(b);
    expect(base32Encode(Buffer.from('foobar'))).toBe('MZXW6YTBOI');
  });
});
