import { describe, expect, it } from 'vitest';
import { DEFAULT_MD5_ONLY_UA, brokenSha256, learnFromGiveUp, offerFor, policyAlgorithms } from './policy.js';

const both = ['SHA-256', 'MD5'] as const;

describe('digest policy: what a request is offered', () => {
  it.each([
    { name: 'server default, unknown client', o: { allowed: both }, want: ['SHA-256', 'MD5'] },
    { name: 'Debian 12 baresip (gives up on SHA-256)', o: { allowed: both, userAgent: 'baresip v1.0.0 (x86_64/linux)', md5OnlyUserAgents: DEFAULT_MD5_ONLY_UA }, want: ['MD5'] },
    { name: 'a newer baresip is not matched', o: { allowed: both, userAgent: 'baresip v3.10.1 (x86_64/linux)', md5OnlyUserAgents: DEFAULT_MD5_ONLY_UA }, want: ['SHA-256', 'MD5'] },
    { name: 'linphone', o: { allowed: both, userAgent: 'Linphone/4.4.10 (belle-sip/4.4.8)', md5OnlyUserAgents: DEFAULT_MD5_ONLY_UA }, want: ['SHA-256', 'MD5'] },
    { name: 'sipvicious', o: { allowed: both, userAgent: 'friendly-scanner', md5OnlyUserAgents: DEFAULT_MD5_ONLY_UA }, want: ['MD5'] },
    { name: 'MD5-first pattern', o: { allowed: both, userAgent: 'OldPhone', md5FirstUserAgents: /^oldphone/i }, want: ['MD5', 'SHA-256'] },
    { name: 'learned MD5', o: { allowed: both, learned: 'MD5' }, want: ['MD5'] },
    { name: 'tenant sha-256 beats the UA pattern', o: { allowed: ['SHA-256'] as const, userAgent: 'baresip v1.0.0', md5OnlyUserAgents: DEFAULT_MD5_ONLY_UA }, want: ['SHA-256'] },
    { name: 'tenant sha-256 beats what was learned', o: { allowed: ['SHA-256'] as const, learned: 'MD5' }, want: ['SHA-256'] },
    { name: 'extension md5', o: { allowed: ['MD5'] as const }, want: ['MD5'] },
  ])('$name', ({ o, want }) => {
    expect(offerFor(o)).toEqual(want);
  });

  it('policy names', () => {
    expect(policyAlgorithms('sha-256,md5')).toEqual(['SHA-256', 'MD5']);
    expect(policyAlgorithms('sha-256')).toEqual(['SHA-256']);
    expect(policyAlgorithms('md5')).toEqual(['MD5']);
    expect(policyAlgorithms(undefined)).toBeUndefined();
  });

  it('learning: only a give-up on a multi-challenge narrows, to the last algorithm', () => {
    expect(learnFromGiveUp({ allowed: both, gaveUp: true })).toBe('MD5');
    expect(learnFromGiveUp({ allowed: both, gaveUp: false })).toBeUndefined();
    expect(learnFromGiveUp({ allowed: ['SHA-256'], gaveUp: true })).toBeUndefined();
  });

  it('a SHA-256 answer that is an MD5 hash is a broken client, a wrong SHA-256 answer is not', () => {
    expect(brokenSha256({ algorithm: 'SHA-256', response: 'a'.repeat(32), md5Verifies: false })).toBe(true);
    expect(brokenSha256({ algorithm: 'SHA-256', response: 'a'.repeat(64), md5Verifies: true })).toBe(true);
    expect(brokenSha256({ algorithm: 'SHA-256', response: 'a'.repeat(64), md5Verifies: false })).toBe(false);
    expect(brokenSha256({ algorithm: 'MD5', response: 'a'.repeat(32), md5Verifies: false })).toBe(false);
  });
});
