/**
 * Digest algorithm policy: which algorithms a request may be answered with (`allowed`) and which
 * challenges it gets (`offer`). Pure; the device state it reads is kept by the authenticator.
 *
 *   allowed = extension setting ?? tenant setting ?? the server's list (KUMO_SIP_DIGEST_ALGORITHMS)
 *   offer   = allowed, narrowed (never widened) by what is known of the client:
 *             1. what this device showed before (learned: it ignored or failed a multi-challenge),
 *             2. User-Agent patterns of clients known to read only MD5 (KUMO_SIP_DIGEST_MD5_ONLY_UA),
 *             3. User-Agent patterns of clients that read only the first challenge (MD5 first).
 *
 * A tenant or extension set to `sha-256` is never offered MD5, whatever the client: the setting is
 * the security decision, the client knowledge only picks among what it allows.
 */
import type { DigestPolicy } from '@kumo/domain';
import type { DigestAlgorithm } from './digest.js';

/** A tenant's or extension's policy (the provisioning API's `digestAlgorithms`) as algorithms in preference order. */
export function policyAlgorithms(p: DigestPolicy | undefined): DigestAlgorithm[] | undefined {
  return p === undefined ? undefined : p === 'md5' ? ['MD5'] : p === 'sha-256' ? ['SHA-256'] : ['SHA-256', 'MD5'];
}

/**
 * Clients known to give up on (or mishandle) a SHA-256 challenge: Debian 12's baresip 1.x
 * ("Register: Function not implemented"), sipp 3.x, sipvicious. Overridable by config.
 */
export const DEFAULT_MD5_ONLY_UA = /^(baresip v?[01]\.|sipp|friendly-scanner|sipvicious)/i;

export interface OfferInput {
  readonly allowed: readonly DigestAlgorithm[];
  readonly userAgent?: string | undefined;
  readonly learned?: string | undefined;
  readonly md5OnlyUserAgents?: RegExp | undefined;
  readonly md5FirstUserAgents?: RegExp | undefined;
}

export function offerFor(o: OfferInput): DigestAlgorithm[] {
  const learned = o.allowed.find((a) => a === learnedAlgorithm(o.learned));
  if (learned !== undefined) return [learned];
  const hasMd5 = o.allowed.includes('MD5');
  const ua = o.userAgent;
  if (ua !== undefined && hasMd5 && o.md5OnlyUserAgents?.test(ua) === true) return ['MD5'];
  if (ua !== undefined && hasMd5 && o.md5FirstUserAgents?.test(ua) === true) return ['MD5', ...o.allowed.filter((a) => a !== 'MD5')];
  return [...o.allowed];
}

export function learnedAlgorithm(v: string | undefined): DigestAlgorithm | undefined {
  return v === 'MD5' || v === 'SHA-256' ? v : undefined;
}

/**
 * A device that gave up on a multi-challenge (`gaveUp`: it got one a while ago and now asks again
 * without usable credentials — a client answers a challenge within milliseconds) is narrowed to the
 * last (most widely read) algorithm. Returns the algorithm to learn, or undefined.
 */
export function learnFromGiveUp(o: { readonly allowed: readonly DigestAlgorithm[]; readonly gaveUp: boolean }): DigestAlgorithm | undefined {
  return o.gaveUp && o.allowed.length > 1 ? o.allowed[o.allowed.length - 1] : undefined;
}

/**
 * A wrong SHA-256 answer that is really an MD5 one (right length for MD5, or correct when checked as
 * MD5 with the extension's MD5 HA1): the device's SHA-256 is broken, not its password. Such a device
 * is narrowed to MD5 (where allowed); a plain wrong password teaches nothing.
 */
export function brokenSha256(o: { readonly algorithm: DigestAlgorithm; readonly response: string; readonly md5Verifies: boolean }): boolean {
  return o.algorithm === 'SHA-256' && (o.md5Verifies || o.response.length === 32);
}
